"""Issue 19, hostile inputs, second battery: bad names, bad files, bad values of every command's other
options, outputs that are folders or files of another kind. Each case: ONE line ``error: ...`` naming
the input, exit status 2, no traceback, and nothing written or changed anywhere (the inputs' folder is
compared before and after).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_hostile_inputs import (  # noqa: F401  (files is a fixture)
    EXPORT,
    GENERATE,
    INTERP,
    PREVIEW,
    RECON,
    RENDER,
    SAMPLE,
    SHEET,
    TRAIN,
    TRAJ,
    _argv,
    assert_one_line,
    files,
    run_main,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def more(files) -> dict[str, Path]:
    """More hostile files, beside the first battery's."""
    root = files["root"] / "more"
    root.mkdir(exist_ok=True)
    (root / "empty_poses.json").write_text(json.dumps({"convention": "opencv_c2w", "poses": []}))
    (root / "no_poses.json").write_text(json.dumps({"convention": "opencv_c2w"}))
    (root / "binary.json").write_bytes(bytes(range(256)) * 4)
    (root / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\xff" * 100)
    (root / "text.jpg").write_text("this is not a photo\n")
    (root / "empty_dir").mkdir(exist_ok=True)
    return files | {p.name: p for p in root.iterdir()}


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of everything under ``root``."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


MISSING = "{out}/missing"
CASES = [
    # render
    ("render missing source", ["render", MISSING + ".ply", *RENDER[2:]], "missing.ply"),
    ("render source a text file", ["render", "{a_file.txt}", *RENDER[2:]], "a_file.txt"),
    ("render source an empty folder", ["render", "{empty_dir}", *RENDER[2:]], "empty_dir"),
    ("render unknown trajectory", RENDER + ["-t", "no_such_path"], "no_such_path"),
    ("render param without =", RENDER + ["-p", "turns"], "--param"),
    ("render param unknown", RENDER + ["-p", "bogus=1"], "bogus"),
    ("render param not a number", RENDER + ["-p", "angle_deg=many"], "angle_deg"),
    ("render background two values", RENDER + ["--background", "1,0"], "--background"),
    ("render background a word", RENDER + ["--background", "red"], "--background"),
    ("render background out of range", RENDER + ["--background", "2,0,0"], "--background"),
    ("render output not mp4", RENDER[:-1] + ["{out}/v.avi"], "v.avi"),
    ("render output a folder", RENDER[:-1] + ["{w_list}"], "w_list"),
    ("render output a file of another kind", RENDER[:-1] + ["{small.png}"], "small.png"),
    ("render height 0", RENDER + ["--height", "0"], "'--height'"),
    ("render width nan", RENDER + ["--width", "nan"], "'--width'"),
    ("render frames 1e9", RENDER + ["--frames", "1000000000"], "'--frames'"),
    ("render distance -1e300", RENDER + ["--distance", "-1e300"], "--distance"),
    ("render fps -1", RENDER + ["--fps", "-1"], "'--fps'"),
    ("render point size 0", RENDER + ["--point-size", "0"], "'--point-size'"),
    ("render backend bogus", RENDER + ["--backend", "vulkan"], "'--backend'"),
    ("render use bogus", RENDER + ["--use", "voxels"], "'--use'"),
    ("render trajectory no poses", RENDER + ["-t", "{empty_poses.json}"], "empty_poses.json"),
    ("render trajectory missing poses", RENDER + ["-t", "{no_poses.json}"], "no_poses.json"),
    ("render trajectory binary", RENDER + ["-t", "{binary.json}"], "binary.json"),
    ("render trajectory missing file", RENDER + ["-t", MISSING + ".json"], "missing.json"),
    # worlds sample
    ("sample family bogus", SAMPLE + ["--family", "moon"], "moon"),
    ("sample trajectory bogus", SAMPLE + ["--trajectory", "no_such_path"], "no_such_path"),
    ("sample res -1", SAMPLE + ["--res", "-1"], "'--res'"),
    ("sample frames -1", SAMPLE + ["--frames", "-1"], "'--frames'"),
    ("sample fov -10", SAMPLE + ["--fov", "-10"], "'--fov'"),
    ("sample fps inf", SAMPLE + ["--fps", "inf"], "'--fps'"),
    ("sample supersample 9", SAMPLE + ["--supersample", "9"], "'--supersample'"),
    ("sample seed 2^64", SAMPLE + ["--seed", str(2**64)], "'--seed'"),
    ("sample output a folder not a scene", SAMPLE[:-1] + ["{w_list}"], "not a genscene scene"),
    ("sample output a file", SAMPLE[:-1] + ["{a_file.txt}"], "a_file.txt"),
    # worlds preview
    ("preview family bogus", SHEET + ["--families", "moon"], "moon"),
    ("preview seeds float", SHEET + ["--seeds", "1.5"], "--seeds"),
    ("preview res -5", SHEET + ["--res", "-5"], "'--res'"),
    ("preview columns 1000", SHEET + ["--columns", "1000"], "'--columns'"),
    ("preview output jpg", SHEET[:-1] + ["{out}/sheet.jpg"], "sheet.jpg: --output: the contact sheet is a PNG"),
    ("preview output a folder", SHEET[:-1] + ["{w_list}"], "w_list: --output: the contact sheet is a PNG"),
    ("preview output exists", SHEET[:-1] + ["{small.png}"], "small.png: already exists"),
    # worlds export
    ("export family bogus", EXPORT + ["--family", "moon"], "moon"),
    ("export colors bogus", EXPORT + ["--colors", "rainbow"], "--colors"),
    ("export output stl", EXPORT[:-1] + ["{out}/w.stl"], "w.stl"),
    ("export output another kind", EXPORT[:-1] + ["{blob.ply}"], "blob.ply"),
    ("export output a folder", EXPORT[:-1] + ["{w_list}"], "w_list: expected a .glb or .obj file name"),
    ("export time -inf", EXPORT + ["--time", "-inf"], "--time"),
    # trajectory
    ("trajectory preview jpg", PREVIEW[:-1] + ["{out}/t.jpg"], "t.jpg"),
    ("trajectory preview unknown", ["trajectory", "preview", "no_such_path", "-o", "{out}/t.png"], "no_such_path"),
    ("trajectory preview param without =", PREVIEW + ["-p", "turns"], "--param"),
    ("trajectory preview frames 0", PREVIEW + ["-n", "0"], "'--frames'"),
    ("trajectory export param unknown", TRAJ + ["-p", "bogus=1"], "bogus"),
    ("trajectory export param not a number", TRAJ + ["-p", "angle_deg=abc"], "angle_deg"),
    ("trajectory export param nan", TRAJ + ["-p", "angle_deg=nan"], "angle_deg"),
    ("trajectory export param not a choice", TRAJ + ["-p", "direction=sideways"], "direction: must be one of"),
    ("trajectory export another kind", TRAJ[:-1] + ["{blob.ply}"], "blob.ply"),
    ("trajectory export a folder", TRAJ[:-1] + ["{w_list}"], "w_list: is a folder"),
    ("trajectory distance twice", TRAJ + ["--distance", "1", "-p", "distance=2"], "distance given twice"),
    ("trajectory file with distance", ["trajectory", "export", "{empty_poses.json}", "--distance", "1",
                                       "-o", "{out}/t.json"], "apply to presets"),
    ("trajectory file no poses", ["trajectory", "export", "{no_poses.json}", "-o", "{out}/t.json"], "no_poses.json"),
    ("trajectory file binary", ["trajectory", "export", "{binary.json}", "-o", "{out}/t.json"], "binary.json"),
    ("trajectory file missing", ["trajectory", "export", MISSING + ".json", "-o", "{out}/t.json"], "missing.json"),
    # reconstruct
    ("reconstruct missing image", ["reconstruct", MISSING + ".png", "-o", "{out}/scene"], "missing.png"),
    ("reconstruct text as photo", ["reconstruct", "{text.jpg}", "-o", "{out}/scene"], "text.jpg"),
    ("reconstruct garbage png", ["reconstruct", "{garbage.png}", "-o", "{out}/scene"], "garbage.png"),
    ("reconstruct empty folder", ["reconstruct", "{empty_dir}", "-o", "{out}/scene"], "empty_dir"),
    ("reconstruct output not a scene", RECON[:-1] + ["{w_list}"], "not a genscene scene"),
    ("reconstruct output a file", RECON[:-1] + ["{a_file.txt}"], "a_file.txt"),
    ("reconstruct weights missing", RECON + ["--weights", MISSING], "missing"),
    # generate / interpolate
    ("generate trajectory bogus", GENERATE + ["-t", "no_such_path"], "no_such_path"),
    ("generate missing image", ["generate", MISSING + ".png", *GENERATE[2:]], "missing.png"),
    ("generate text as photo", ["generate", "{text.jpg}", *GENERATE[2:]], "text.jpg"),
    ("generate frames 1000", GENERATE + ["--frames", "1000"], "'--frames'"),
    ("generate guidance -1", GENERATE + ["--guidance", "-1"], "'--guidance'"),
    ("generate steps 0", GENERATE + ["--steps", "0"], "'--steps'"),
    ("generate output a file", GENERATE[:-1] + ["{a_file.txt}"], "a_file.txt"),
    ("generate trajectory no poses", GENERATE + ["-t", "{empty_poses.json}"], "empty_poses.json"),
    ("interpolate second missing", ["interpolate", "{small.png}", MISSING + ".png", *INTERP[3:]], "missing.png"),
    ("interpolate frames 1", INTERP + ["--frames", "1"], "'--frames'"),
    ("interpolate seed -1", INTERP + ["--seed", "-1"], "'--seed'"),
    ("interpolate steps 0", INTERP + ["--steps", "0"], "'--steps'"),
    ("interpolate output not a scene", INTERP[:-1] + ["{w_list}"], "not a genscene scene"),
    # train
    ("train stage bogus", ["train", "painting", "--out", "{out}/run"], "painting"),
    ("train preset bogus", TRAIN + ["--preset", "huge"], "huge"),
    ("train set unknown field", TRAIN + ["--set", "loop.nope=1"], "nope"),
    ("train set bad value", TRAIN + ["--set", "loop.steps=abc"], "loop.steps"),
    ("train set without =", TRAIN + ["--set", "loop.steps"], "--set"),
    ("train init missing", TRAIN + ["--init-from", MISSING], "missing"),
    ("train resume nothing", TRAIN + ["--resume"], "run"),
    # view
    ("view missing scene", ["view", MISSING, "--timeout", "0"], "missing: not found"),
    ("view a text file", ["view", "{a_file.txt}", "--timeout", "0"], "a_file.txt: expected a scene folder or a .ply"),
    ("view an empty folder", ["view", "{empty_dir}", "--timeout", "0"], "empty_dir"),
    ("view a broken scene", ["view", "{deep_scene}", "--timeout", "0"], "cameras.json"),
    ("view port 70000", ["view", "{blob.ply}", "--port", "70000"], "'--port'"),
    ("view port -1", ["view", "{blob.ply}", "--port", "-1"], "'--port'"),
    ("view timeout nan", ["view", "{blob.ply}", "--timeout", "nan"], "--timeout"),
    ("view timeout -1", ["view", "{blob.ply}", "--timeout", "-1"], "'--timeout'"),
    ("view max points 0", ["view", "{blob.ply}", "--max-points", "0"], "'--max-points'"),
    ("view image size 0", ["view", "{blob.ply}", "--image-size", "0"], "'--image-size'"),
    # doctor, the group itself
    ("doctor unknown option", ["doctor", "--bogus"], "--bogus"),
    ("unknown command", ["paint"], "paint"),
    ("max memory 0", ["--max-memory", "0", *TRAJ], "--max-memory"),
]


@pytest.mark.parametrize("argv,needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_changes(monkeypatch, capsys, tmp_path, more, argv, needle):
    monkeypatch.delenv("GENSCENE_MAX_MEMORY_GB", raising=False)
    monkeypatch.delenv("GENSCENE_DEBUG", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(more["root"])
    code, lines = run_main(monkeypatch, capsys, _argv(argv, more, out))
    assert_one_line(code, lines, 2, needle)
    assert list(out.iterdir()) == [], "nothing half-written, no temporaries"
    assert snapshot(more["root"]) == before, "an input or an existing output changed"


def test_the_two_batteries_hold_at_least_150_cases():
    from test_hostile_inputs import CASES as FIRST

    assert len(FIRST) + len(CASES) >= 150
    covered = {c[1][c[1][0] == "--max-memory" and 2 or 0] for c in FIRST + CASES}
    assert {"render", "worlds", "trajectory", "reconstruct", "generate", "interpolate", "train", "doctor",
            "view"} <= covered
