"""A figure of generated clips: input, 3D-cache render (holes magenta) and generated frames, for held-out test
worlds and for real photos (the domain gap shows; it is not hidden).

    python benchmarks/figure_generate.py [--worlds 4] [--photos demo01.jpg demo10.jpg] [-o docs/generation_examples.png]

Worlds: GT frame 0 and GT cameras of test clips from ``REPORT_START`` (the same protocol as
``bench_generate.py``). Photos: ``../shared/data/single_images``, the ``gen3c_left`` preset (what
``genscene generate PHOTO -t gen3c_left`` does); skipped with a message when the folder is absent.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import numpy as np
import torch

from genscene.cameras.trajectories import make_trajectory
from genscene.eval.real_data import shared_data_dir
from genscene.io.images import read_image
from genscene.models.generator import VideoGenerator
from genscene.models.geometry import GeometryNet
from genscene.models.vae import VideoVAE
from genscene.pipelines.generate import GenerateConfig, generate_video, relative_unit_cameras, unit_depth
from genscene.pipelines.image_to_video import ImageToVideoConfig, image_to_video
from genscene.train.stages.generator import GeneratorStage
from genscene.weights import found_checkpoints

COLUMNS = (4, 8, 12, 16)
HOLE = torch.tensor([1.0, 0.0, 1.0])[:, None, None]


def world_rows(count: int, models: tuple, cfg: GenerateConfig) -> list[tuple[str, dict]]:
    generator, vae, geometry = models
    stage = GeneratorStage()
    rows = []
    for i, item in enumerate(stage.clips(stage.config("tiny"), torch.device("cpu")).eval_items(split="test",
                                                                                              count=count)):
        rgb, depth = item["rgb"].float(), item["depth"].float()
        cams = relative_unit_cameras(item["cameras"], depth[0])
        depth0 = unit_depth(geometry(rgb[:1][None])["depth"][0, 0].float())
        out = generate_video(generator, vae, rgb[0], depth0, cams, cfg)
        rows.append((f"test world {i}", {"input": rgb[0], "gt": rgb, **out}))
    return rows


def photo_rows(names: list[str], models: tuple, cfg: GenerateConfig) -> list[tuple[str, dict]]:
    root = shared_data_dir()
    if root is None:
        print("photos skipped: ../shared/data is absent")
        return []
    rows = []
    for name in names:
        scene, previews = image_to_video(read_image(root / "single_images" / name), make_trajectory("gen3c_left", 17),
                                         *models, ImageToVideoConfig(generate=cfg))
        rows.append((name, {"input": previews["input"], "frames": scene.frames, "cache_rgb": previews["cache_rgb"],
                            "cache_mask": previews["cache_mask"]}))
    return rows


def draw(rows: list[tuple[str, dict]], path: Path) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_row = 1 + 2 * len(COLUMNS)
    fig, axes = plt.subplots(len(rows), per_row, figsize=(1.3 * per_row, 1.45 * len(rows)), squeeze=False)
    for r, (title, clip) in enumerate(rows):
        panels = [(clip["input"], f"{title}: input")]
        for t in COLUMNS:
            panels.append((torch.where(clip["cache_mask"][t][None], HOLE, clip["cache_rgb"][t]), f"cache {t}"))
            panels.append((clip["frames"][t], f"generated {t}"))
        for c, (img, label) in enumerate(panels):
            axes[r, c].imshow(np.clip(img.permute(1, 2, 0).numpy(), 0, 1))
            axes[r, c].set_title(label, fontsize=6)
            axes[r, c].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=4)
    ap.add_argument("--photos", nargs="*", default=["demo01.jpg", "demo10.jpg"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("-o", "--out", type=Path, default=Path("docs/generation_examples.png"))
    args = ap.parse_args()
    found = found_checkpoints()
    models = (VideoGenerator.from_pretrained(found["generator"]).eval(), VideoVAE.from_pretrained(found["vae"]).eval(),
              GeometryNet.from_pretrained(found["geometry"]).eval())
    cfg = GenerateConfig(steps=args.steps)
    with torch.no_grad():
        rows = world_rows(args.worlds, models, cfg) + photo_rows(args.photos, models, cfg)
    draw(rows, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
