"""The clip bank renders exactly what on-the-fly rendering gives, independent of worker processes."""

import pytest
import torch

from genscene.train.clip_bank import build_clip_bank, plan_world
from genscene.worlds import make_world
from genscene.worlds.camera_paths import sample_camera_path
from genscene.worlds.compiled import compile_world
from genscene.worlds.render import render
from genscene.worlds.seeds import HeldOutSeedError, seed_range

SEEDS = seed_range("train", 3)


def test_bank_clip_matches_direct_render():
    seed = SEEDS[0]
    bank = build_clip_bank([("tabletop", seed)], paths=2, frames=3, size=24, kinds=("orbit", "random"),
                           device=torch.device("cpu"), workers=0)
    assert len(bank) == 2 and bank.worlds == [("tabletop", seed)] * 2
    world = make_world("tabletop", seed)
    path = sample_camera_path(world, "random", num_frames=3, size=24, seed=1000)  # path 1 starts at kinds[1]
    ref = render(compile_world(world), path.cameras, path.times, edges=False)
    clip = bank.clip(1)
    assert torch.allclose(clip["cameras"].w2c, path.cameras.w2c.float(), atol=1e-6)
    assert (clip["rgb"] - ref["rgb"]).abs().max() <= 0.5 / 255 + 1e-6  # uint8 storage rounds
    assert torch.allclose(clip["depth"], ref["depth"], rtol=1e-3, atol=1e-3)  # float16 storage
    assert torch.equal(clip["mask"], ref["mask"])
    window = bank.clip(1, torch.tensor([2]))
    assert torch.equal(window["rgb"], clip["rgb"][2:3])


def test_worker_processes_give_the_same_bank():
    jobs = [("courtyard", SEEDS[1]), ("room", SEEDS[2])]
    args = dict(paths=1, frames=2, size=16, kinds=("orbit",), device=torch.device("cpu"))
    inline = build_clip_bank(jobs, workers=0, **args)
    pooled = build_clip_bank(jobs, workers=2, **args)
    assert torch.equal(inline.rgb, pooled.rgb) and torch.equal(inline.w2c, pooled.w2c)


def test_compiled_world_moves_every_tensor():
    cw = compile_world(make_world("street", SEEDS[0]))
    moved = cw.to("meta")
    assert moved.atlas.device.type == "meta" and moved.motion.omega.device.type == "meta"
    assert all(p.device.type == "meta" for g in moved.groups.values() for p in g.params.values())
    assert cw.atlas.device.type == "cpu"  # the original is untouched


def test_held_out_worlds_are_refused():
    with pytest.raises(HeldOutSeedError):
        plan_world("room", seed_range("test", 1, purpose="report")[0], 1, 2, 16, ("orbit",))


def test_cached_bank_is_rendered_once_and_loaded_identically(tmp_path):
    from genscene.train.clip_bank import cached_clip_bank

    args = dict(paths=1, frames=2, size=16, kinds=("orbit",), supersample=2, workers=0)
    first = cached_clip_bank(tmp_path, [("tabletop", SEEDS[0])], torch.device("cpu"), **args)
    assert len(list(tmp_path.glob("bank-*.safetensors"))) == 1
    again = cached_clip_bank(tmp_path, [("tabletop", SEEDS[0])], torch.device("cpu"), **args)
    assert torch.equal(first.rgb, again.rgb) and torch.equal(first.depth, again.depth)
    assert again.worlds == [("tabletop", SEEDS[0])]
    other = cached_clip_bank(tmp_path, [("tabletop", SEEDS[0])], torch.device("cpu"), **{**args, "supersample": 1})
    assert len(list(tmp_path.glob("bank-*.safetensors"))) == 2 and not torch.equal(other.rgb, first.rgb)
