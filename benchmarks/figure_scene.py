"""A figure of ``genscene scene`` renders: held-out test worlds (bench_scene's protocol) and real photos.

    python benchmarks/figure_scene.py [--worlds 4] [--photos demo01.jpg demo10.jpg] [-o docs/scene_examples.png]

Worlds: the first test worlds of ``bench_scene.py``; columns are the photo, the GT frame at held-out pose 4
(of the spiral no clip follows) and the renders there of each route's Gaussians, from GT frames and from
generated ones, and of the warp-only cloud. Photos (``../shared/data/single_images``, skipped with a message
when absent): the photo, one generated view, and each route's Gaussians seen from the fly-through's last pose,
a path no clip was generated on. The domain gap shows; it is not hidden.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import torch

from genscene.commands.checkpoints import load_model
from genscene.commands.generate import generation_models
from genscene.commands.reconstruct import resolve_weights
from genscene.eval.real_data import shared_data_dir
from genscene.pipelines.scene_protocol import score_world, world_names
from genscene.io.images import read_image
from genscene.models.gaussian_decoder import LatentGaussianDecoder
from genscene.pipelines.fit_gaussians import render_views
from genscene.pipelines.photo_to_scene import PhotoToSceneConfig, clip_views, gaussians_by_decoder, photo_to_scene

HELD_INDEX = 3
"""Held-out pose 4 (index 3 of poses 1-7): the spiral's widest."""
WORLD_COLUMNS = (("photo", "photo (input)"), ("gt", "GT, held-out pose"), ("gt_fit", "GT frames -> fit"),
                 ("gen_fit", "generated -> fit"), ("gen_decoder", "generated -> decoder"), ("warp", "warp-only"))


def world_rows(count: int, models, decoder) -> list[tuple[str, list[torch.Tensor]]]:
    rows = []
    for family, seed in world_names("test", count):
        renders: dict[str, torch.Tensor] = {}
        score_world(family, seed, PhotoToSceneConfig(), models, decoder, renders)
        photo = renders["photo"][0]
        rows.append((f"{family} {seed}", [photo if k == "photo" else renders[k][HELD_INDEX] for k, _ in WORLD_COLUMNS]))
    return rows


def photo_rows(names: list[str], models, decoder) -> list[tuple[str, list[torch.Tensor]]]:
    root = shared_data_dir()
    folder = root / "single_images" if root is not None else None
    if folder is None or not folder.is_dir():
        print("figure_scene: ../shared/data/single_images is absent; photo rows skipped")
        return []
    rows = []
    for name in names:
        image = read_image(folder / name)
        made = photo_to_scene(image, *models, PhotoToSceneConfig())
        last = made.flythrough_cameras[-1:].to(dtype=torch.float32)
        fit = render_views(made.scene.gaussians, last, torch.tensor(made.scene.meta["fit"]["background"]))[0]
        decoded, _ = gaussians_by_decoder(*clip_views(made.scene, made.clips), models[1], decoder, "cpu")
        rows.append((name, [made.scene.frames[0], made.scene.frames[-1], fit, render_views(decoded, last)[0]]))
    return rows


def draw(world: list, photos: list, out: Path) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = len(WORLD_COLUMNS)
    fig, axes = plt.subplots(len(world) + len(photos), columns, figsize=(2 * columns, 2.1 * (len(world) + len(photos))),
                             squeeze=False)
    photo_titles = ("photo (input)", "a generated view", "fit, fly-through end", "decoder, fly-through end")
    for r, (name, images) in enumerate(world + photos):
        titles = [t for _, t in WORLD_COLUMNS] if r < len(world) else photo_titles
        for c in range(columns):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(images):
                ax.imshow(images[c].permute(1, 2, 0).clamp(0, 1).numpy())
                ax.set_title(titles[c], fontsize=7)
        axes[r, 0].text(-0.08, 0.5, name, transform=axes[r, 0].transAxes, rotation=90, va="center", ha="right",
                        fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=4)
    ap.add_argument("--photos", nargs="*", default=["demo01.jpg", "demo10.jpg"])
    ap.add_argument("--decoder", type=Path, default=None, help="decoder folder (default: the embedded one)")
    ap.add_argument("-o", "--out", type=Path, default=Path("docs/scene_examples.png"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    models, _ = generation_models(None)
    decoder = load_model(LatentGaussianDecoder, resolve_weights("decoder", args.decoder))
    draw(world_rows(args.worlds, models, decoder), photo_rows(args.photos, models, decoder), args.out)


if __name__ == "__main__":
    main()
