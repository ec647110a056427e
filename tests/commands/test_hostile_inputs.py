"""Issue 19, hostile inputs: every bad input is ONE line ``error: ...`` naming it, exit status 2, no
traceback, and nothing written at the ``-o`` target; an unexpected failure is one line and status 1.

Every case runs the real entry point (:func:`genscene.cli.main`) in process and stops before any
model inference or long render: values are refused at the boundary, weights before they are used,
requests too big for memory before anything is allocated.
"""

from __future__ import annotations

import errno
import json
import shutil
import struct
import sys
import zlib
from pathlib import Path

import pytest
import torch

from genscene.geometry.gaussians import Gaussians
from genscene.io.ply import write_gaussians_ply

pytestmark = pytest.mark.usefixtures("one_thread")

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
CUDA = torch.cuda.is_available()
NO_CUDA_DEVICE = "cuda" if not CUDA else f"cuda:{torch.cuda.device_count()}"
"""A CUDA device this machine does not have."""


# ------------------------------------------------------------------------------------ fixtures
def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header says ``width x height`` RGB but which holds (almost) no pixel data: a few bytes
    that would decode to gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))
    return path


def _weights_variant(root: Path, name: str, edit) -> Path:
    """A copy of the embedded geometry checkpoint, changed by ``edit(folder)``."""
    folder = root / name
    shutil.copytree(WEIGHTS / "geometry", folder)
    edit(folder)
    return folder


def _edit_config(change):
    def edit(folder: Path) -> None:
        cfg = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(change(cfg)))
    return edit


def _write(name: str, data: bytes | str):
    def edit(folder: Path) -> None:
        target = folder / name
        target.write_bytes(data) if isinstance(data, bytes) else target.write_text(data)
    return edit


def _pickled(folder: Path) -> None:
    torch.save({"w": torch.zeros(3)}, folder / "model.safetensors")


def _nan_tensor(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(folder / "model.safetensors")
    first = min(state)
    state[first] = torch.full_like(state[first], float("nan"))
    save_file(state, folder / "model.safetensors")


def _wider(cfg: dict) -> dict:
    cfg["config"]["dim"] = 96
    return cfg


DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Inputs shared by the cases: good and hostile ones."""
    root = tmp_path_factory.mktemp("hostile")
    blob = Gaussians(means=torch.tensor([[0.0, 0.0, 2.0]]), quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
                     scales=torch.full((1, 3), 0.3), opacities=torch.tensor([0.9]), colors=torch.tensor([[1.0, 0, 0]]))
    write_gaussians_ply(root / "blob.ply", blob)
    from PIL import Image

    Image.new("RGB", (32, 24), (120, 30, 200)).save(root / "small.png")
    _png_header(root / "huge.png", 12_000, 12_000)
    _png_header(root / "big.png", 6_000, 6_000)
    eye = [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]]
    far = [[1.0, 0, 0, 1e300], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]]
    (root / "far.json").write_text(json.dumps({"convention": "opencv_c2w", "poses": [eye, far]}))
    (root / "deep.json").write_text(DEEP_JSON)
    scene = root / "deep_scene"
    scene.mkdir()
    (scene / "cameras.json").write_text(DEEP_JSON)
    (root / "a_file.txt").write_text("not a folder\n")
    weights = {
        "w_binary": _write("config.json", bytes(range(256))),
        "w_list": _write("config.json", "[1, 2, 3]"),
        "w_deep": _write("config.json", DEEP_JSON),
        "w_field": _edit_config(lambda c: {**c, "sneaky": 1}),
        "w_class": _edit_config(lambda c: {**c, "class": "VideoGenerator"}),
        "w_shapes": _edit_config(_wider),
        "w_pickle": _pickled,
        "w_garbage": _write("model.safetensors", b"\x00" * 7),
        "w_truncated": lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:5000]),
        "w_nan": _nan_tensor,
    }
    for name, edit in weights.items():
        _weights_variant(root, name, edit)
    (root / "w_nofile").mkdir()
    init = root / "init_pickle"
    init.mkdir()
    torch.save({"w": torch.zeros(3)}, init / "model.safetensors")
    return {p.name: p for p in root.iterdir()} | {"root": root}


def run_main(monkeypatch, capsys, argv: list[str]) -> tuple[int, list[str]]:
    """``genscene ARGV`` through the real entry point: exit status and the non-empty output lines."""
    from genscene.cli import main

    monkeypatch.setattr(sys, "argv", ["genscene", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return done.value.code, [line for line in (out.out + out.err).splitlines() if line.strip()]


def _gone(path: Path) -> bool:
    try:
        return not (path.exists() or path.is_symlink())
    except OSError:  # a name too long cannot even be looked at
        return True


def assert_one_line(code: int, lines: list[str], status: int, needle: str) -> None:
    text = "\n".join(lines)
    assert code == status, text
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    assert "Traceback" not in text and needle in lines[0], text


# ------------------------------------------------------------------------------------ the battery
OUT = "{out}"
RENDER = ["render", "{blob.ply}", "-t", "orbit", "-n", "2", "--width", "16", "--height", "16", "--device", "cpu",
          "-o", "{out}/v.mp4"]
SAMPLE = ["worlds", "sample", "--family", "tabletop", "--frames", "2", "--res", "16", "--supersample", "1",
          "--device", "cpu", "-o", "{out}/scene"]
SHEET = ["worlds", "preview", "--families", "tabletop", "--seeds", "0", "--res", "16", "--device", "cpu",
         "-o", "{out}/sheet.png"]
EXPORT = ["worlds", "export", "--family", "tabletop", "-o", "{out}/w.glb"]
TRAJ = ["trajectory", "export", "orbit", "-n", "3", "-o", "{out}/t.json"]
PREVIEW = ["trajectory", "preview", "orbit", "-n", "3", "-o", "{out}/t.png"]
RECON = ["reconstruct", "{small.png}", "--size", "16", "--device", "cpu", "-o", "{out}/scene"]
GENERATE = ["generate", "{small.png}", "-t", "orbit", "--frames", "5", "--steps", "1", "-o", "{out}/scene"]
INTERP = ["interpolate", "{small.png}", "{small.png}", "--frames", "5", "--steps", "1", "-o", "{out}/scene"]
TRAIN = ["train", "geometry", "--out", "{out}/run"]
TOO_LONG = "{out}/" + "a" * 300 + ".json"

CASES = [
    # render: values
    ("render fps 0", RENDER + ["--fps", "0"], "'--fps'"),
    ("render fps nan", RENDER + ["--fps", "nan"], "--fps"),
    ("render fps inf", RENDER + ["--fps", "inf"], "'--fps'"),
    ("render fov 0", RENDER + ["--fov", "0"], "'--fov'"),
    ("render fov 180", RENDER + ["--fov", "180"], "'--fov'"),
    ("render fov nan", RENDER + ["--fov", "nan"], "--fov"),
    ("render frames 0", RENDER + ["--frames", "0"], "'--frames'"),
    ("render frames -3", RENDER + ["--frames", "-3"], "'--frames'"),
    ("render width 0", RENDER + ["--width", "0"], "'--width'"),
    ("render width -64", RENDER + ["--width", "-64"], "'--width'"),
    ("render width 100000", RENDER + ["--width", "100000", "--height", "100000"], "'--width'"),
    ("render point size -5", RENDER + ["--point-size", "-5"], "'--point-size'"),
    ("render point size nan", RENDER + ["--point-size", "nan"], "--point-size"),
    ("render distance nan", RENDER + ["--distance", "nan"], "--distance: must be a finite number"),
    ("render distance 1e300", RENDER + ["--distance", "1e300"], "--distance: must be a finite number"),
    ("render background nan", RENDER + ["--background", "nan,0,0"], "--background"),
    ("render device bogus", RENDER + ["--device", "bogus"], "'--device'"),
    ("render trajectory 1e300", RENDER + ["-t", "{far.json}"], "far.json: poses[1]: translation"),
    ("render trajectory deep", RENDER + ["-t", "{deep.json}"], "deep.json: cannot read as JSON: RecursionError"),
    ("render scene deep cameras", ["render", "{deep_scene}", "-t", "orbit", "-o", "{out}/v.mp4"],
     "cameras.json: JSON nested too deeply"),
    ("render memory", ["render", "{blob.ply}", "-t", "orbit", "-n", "10000", "--width", "16384", "--height", "16384",
                       "-o", "{out}/v.mp4"], "--width/--height/--frames: needs about"),
    ("render memory override", ["--max-memory", "0.5", *RENDER[:-2], "--width", "4096", "--height", "4096",
                                "-o", "{out}/v.mp4"], "above the 0.5 GB allowed by --max-memory"),
    ("render name too long", RENDER[:-1] + [TOO_LONG.replace(".json", ".mp4")], "File name too long"),
    ("render under /proc", RENDER[:-1] + ["/proc/genscene-hostile/v.mp4"], "/proc/genscene-hostile"),
    # worlds sample
    ("sample res 0", SAMPLE + ["--res", "0"], "'--res'"),
    ("sample res 5000", SAMPLE + ["--res", "5000"], "'--res'"),
    ("sample frames 0", SAMPLE + ["--frames", "0"], "'--frames'"),
    ("sample fps 0", SAMPLE + ["--fps", "0"], "'--fps'"),
    ("sample fps nan", SAMPLE + ["--fps", "nan"], "--fps"),
    ("sample fov 180", SAMPLE + ["--fov", "180"], "'--fov'"),
    ("sample fov nan", SAMPLE + ["--fov", "nan"], "--fov"),
    ("sample seed -1", SAMPLE + ["--seed", "-1"], "'--seed'"),
    ("sample path seed -1", SAMPLE + ["--path-seed", "-1"], "'--path-seed'"),
    ("sample supersample 0", SAMPLE + ["--supersample", "0"], "'--supersample'"),
    ("sample device bogus", SAMPLE + ["--device", "bogus"], "--device: expected auto, cpu, cuda or cuda:N"),
    ("sample device missing", SAMPLE + ["--device", NO_CUDA_DEVICE], "--device: " + NO_CUDA_DEVICE),
    ("sample memory", SAMPLE + ["--res", "4096", "--frames", "1000", "--supersample", "8"],
     "--res/--frames/--supersample: needs about"),
    # worlds preview / export
    ("preview res 0", SHEET + ["--res", "0"], "'--res'"),
    ("preview columns 0", SHEET + ["--columns", "0"], "'--columns'"),
    ("preview seeds -1", SHEET + ["--seeds", "-1"], "--seeds"),
    ("preview seeds text", SHEET + ["--seeds", "a,b"], "--seeds"),
    ("preview no families", SHEET + ["--families", ","], "--families/--seeds"),
    ("preview device bogus", SHEET + ["--device", "tpu"], "--device"),
    ("preview memory override", ["--max-memory", "0.01", *SHEET, "--res", "1024"], "--res/--families/--seeds"),
    ("export time nan", EXPORT + ["--time", "nan"], "--time: must be a finite number"),
    ("export time inf", EXPORT + ["--time", "inf"], "--time: must be a finite number"),
    ("export seed -1", EXPORT + ["--seed", "-1"], "'--seed'"),
    # trajectory
    ("trajectory frames 0", TRAJ + ["-n", "0"], "'--frames'"),
    ("trajectory frames -3", TRAJ + ["-n", "-3"], "'--frames'"),
    ("trajectory distance nan", TRAJ + ["--distance", "nan"], "--distance: must be a finite number"),
    ("trajectory param 1e300", ["trajectory", "export", "spatialcrafter_move_left", "-n", "3", "-p", "distance=1e300",
                                "-o", "{out}/t.json"], "poses[1]: translation [-5e+299, 0.0, 0.0] is beyond +-1e+06"),
    ("trajectory file 1e300", ["trajectory", "export", "{far.json}", "-o", "{out}/t.json"], "far.json: poses[1]"),
    ("trajectory file deep", ["trajectory", "export", "{deep.json}", "-o", "{out}/t.json"], "RecursionError"),
    ("trajectory name too long", TRAJ[:-1] + [TOO_LONG], "File name too long"),
    ("trajectory under /proc", TRAJ[:-1] + ["/proc/genscene-hostile/t.json"], "/proc/genscene-hostile"),
    ("trajectory under a file", TRAJ[:-1] + ["{a_file.txt}/t.json"], "a_file.txt"),
    ("preview under /proc", PREVIEW[:-1] + ["/proc/genscene-hostile/t.png"], "/proc/genscene-hostile"),
    # reconstruct
    ("reconstruct size 0", RECON + ["--size", "0"], "'--size'"),
    ("reconstruct size -64", RECON + ["--size", "-64"], "'--size'"),
    ("reconstruct size 100000", RECON + ["--size", "100000"], "'--size'"),
    ("reconstruct frames 0", RECON + ["--frames", "0"], "'--frames'"),
    ("reconstruct device bogus", RECON + ["--device", "bogus"], "--device: expected auto, cpu, cuda or cuda:N"),
    ("reconstruct device missing", RECON + ["--device", NO_CUDA_DEVICE], "--device: " + NO_CUDA_DEVICE),
    ("reconstruct 144 MP", ["reconstruct", "{huge.png}", "-o", "{out}/scene"], "huge.png: is 12000x12000 = 144 MP"),
    ("reconstruct memory override", ["--max-memory", "0.5", "reconstruct", "{big.png}", "-o", "{out}/scene"],
     "big.png: needs about"),
    ("reconstruct memory size", ["--max-memory", "0.5", *RECON, "--size", "4096"], "small.png: needs about"),
    ("weights binary config", RECON + ["--weights", "{w_binary}"], "config.json: not a UTF-8 text file"),
    ("weights list config", RECON + ["--weights", "{w_list}"], "config.json: expected a JSON object, got list"),
    ("weights deep config", RECON + ["--weights", "{w_deep}"], "config.json: JSON nested too deeply"),
    ("weights unknown field", RECON + ["--weights", "{w_field}"], "unknown field(s) ['sneaky']"),
    ("weights wrong class", RECON + ["--weights", "{w_class}"], "holds a 'VideoGenerator', not a GeometryNet"),
    ("weights wrong shapes", RECON + ["--weights", "{w_shapes}"], "model.safetensors: tensor '"),
    ("weights pickle", RECON + ["--weights", "{w_pickle}"], "model.safetensors: not a safetensors file"),
    ("weights garbage", RECON + ["--weights", "{w_garbage}"], "model.safetensors: not a safetensors file"),
    ("weights truncated", RECON + ["--weights", "{w_truncated}"], "model.safetensors"),
    ("weights nan", RECON + ["--weights", "{w_nan}"], "holds NaN or infinite values"),
    ("weights empty folder", RECON + ["--weights", "{w_nofile}"], "config.json is missing"),
    ("weights not a folder", RECON + ["--weights", "{small.png}"], "not a checkpoint folder"),
    # generate / interpolate
    ("generate frames 0", GENERATE + ["--frames", "0"], "'--frames'"),
    ("generate steps -5", GENERATE + ["--steps", "-5"], "'--steps'"),
    ("generate seed -1", GENERATE + ["--seed", "-1"], "'--seed'"),
    ("generate guidance nan", GENERATE + ["--guidance", "nan"], "--guidance"),
    ("generate camera guidance inf", GENERATE + ["--camera-guidance", "inf"], "'--camera-guidance'"),
    ("generate 144 MP", ["generate", "{huge.png}", "-t", "orbit", "-o", "{out}/scene"], "144 MP"),
    ("generate no weights", GENERATE + ["--weights", "{w_nofile}"], "config.json is missing"),
    ("interpolate guidance nan", INTERP + ["--guidance", "nan"], "--guidance"),
    # train
    ("train steps -5", TRAIN + ["--steps", "-5"], "'--steps'"),
    ("train minutes -1", TRAIN + ["--minutes", "-1"], "'--minutes'"),
    ("train minutes nan", TRAIN + ["--minutes", "nan"], "--minutes"),
    ("train lr nan", TRAIN + ["--lr", "nan"], "--lr"),
    ("train lr -1", TRAIN + ["--lr", "-1"], "'--lr'"),
    ("train batch -1", TRAIN + ["--batch-size", "-1"], "'--batch-size'"),
    ("train warmup -2", TRAIN + ["--warmup-steps", "-2"], "'--warmup-steps'"),
    ("train init pickle", TRAIN + ["--init-from", "{init_pickle}"], "not a safetensors file"),
    # global options
    ("max memory nan", ["--max-memory", "nan", *TRAJ], "--max-memory: must be a positive number"),
    ("max memory negative", ["--max-memory", "-1", *TRAJ], "--max-memory: must be a positive number"),
]


def _argv(template: list[str], files: dict[str, Path], out: Path) -> list[str]:
    """``template`` with ``{out}`` and ``{NAME}`` (a file of the fixture) replaced by paths."""
    names = {"out": str(out)} | {k: str(v) for k, v in files.items()}
    argv = []
    for arg in template:
        for key, value in names.items():
            arg = arg.replace("{" + key + "}", value)
        argv.append(arg)
    return argv


def _outputs(argv: list[str]) -> list[Path]:
    """The paths given after -o/--out/--output."""
    return [Path(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a in ("-o", "--out", "--output")]


@pytest.mark.parametrize("argv,needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(monkeypatch, capsys, tmp_path, files, argv, needle):
    monkeypatch.delenv("GENSCENE_MAX_MEMORY_GB", raising=False)
    monkeypatch.delenv("GENSCENE_DEBUG", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    argv = _argv(argv, files, out)
    code, lines = run_main(monkeypatch, capsys, argv)
    assert_one_line(code, lines, 2, needle)
    assert all(_gone(p) for p in _outputs(argv))
    assert list(out.iterdir()) == [], "nothing half-written, no temporaries"


def test_cuda_without_cuda_is_one_line(monkeypatch, capsys, tmp_path, files):
    if CUDA:
        pytest.skip("this machine has CUDA")
    argv = _argv(RENDER + ["--device", "cuda"], files, tmp_path)
    code, lines = run_main(monkeypatch, capsys, argv)
    assert_one_line(code, lines, 2, "--device: cuda requested but no CUDA device is available")


def test_environment_budget_applies_and_a_bad_one_is_named(monkeypatch, capsys, tmp_path, files):
    monkeypatch.setenv("GENSCENE_MAX_MEMORY_GB", "0.5")
    code, lines = run_main(monkeypatch, capsys, _argv(RENDER[:-2] + ["--width", "4096", "--height", "4096",
                                                                    "-o", "{out}/v.mp4"], files, tmp_path))
    assert_one_line(code, lines, 2, "above the 0.5 GB allowed by --max-memory / GENSCENE_MAX_MEMORY_GB")
    monkeypatch.setenv("GENSCENE_MAX_MEMORY_GB", "lots")
    code, lines = run_main(monkeypatch, capsys, _argv(RENDER, files, tmp_path))
    assert_one_line(code, lines, 2, "GENSCENE_MAX_MEMORY_GB: must be a positive number of GB, got 'lots'")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_names_the_output(monkeypatch, capsys, tmp_path, files):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    code, lines = run_main(monkeypatch, capsys, _argv(TRAJ, files, tmp_path))
    assert_one_line(code, lines, 2, f"{tmp_path}/t.json: No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_an_internal_error_is_one_line_exit_1_and_debug_shows_the_traceback(monkeypatch, capsys, tmp_path, files):
    from genscene.cameras import trajectories

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(trajectories, "save_trajectory_json", broken)
    monkeypatch.delenv("GENSCENE_DEBUG", raising=False)
    argv = _argv(TRAJ, files, tmp_path)
    code, lines = run_main(monkeypatch, capsys, argv)
    assert_one_line(code, lines, 1, "error: internal error: ZeroDivisionError: division by zero (run with --debug")
    monkeypatch.setattr(sys, "argv", ["genscene", "--debug", *argv])
    from genscene.cli import main

    with pytest.raises(ZeroDivisionError):
        main()
    monkeypatch.setenv("GENSCENE_DEBUG", "1")
    monkeypatch.setattr(sys, "argv", ["genscene", *argv])
    with pytest.raises(ZeroDivisionError):
        main()
    assert list(tmp_path.iterdir()) == []


def test_good_weights_still_load_and_the_temporary_name_is_shown_as_its_target():
    from genscene.commands import shown_path
    from genscene.commands.checkpoints import load_model
    from genscene.models.geometry import GeometryNet

    model = load_model(GeometryNet, WEIGHTS / "geometry")
    assert not model.training and model.config.patch_size == 8
    assert shown_path("/x/.video.tmp-123-0123abcd.mp4") == "/x/video.mp4"
    assert shown_path("/x/.scene.old-9-deadbeef") == "/x/scene"
