"""Materials: seeded procedural textures and photo textures cut from scikit-image's bundled photos.

A texture is described by a hashable :class:`TextureSpec` and generated once (cached) as a
seamlessly tiling ``[S, S, 3]`` uint8 image; a :class:`Material` tints and scales it. The renderer
packs the textures of a world into one atlas tensor ``[M, S, S, 3]`` and samples it bilinearly
with wrap-around, so the same code runs on CPU and GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

TEXTURE_SIZE = 256

# scikit-image photographs that ship inside the wheel (no download): name -> colour or grey.
PHOTOS_RGB = ("astronaut", "coffee", "chelsea", "rocket", "cat", "colorwheel")
PHOTOS_GREY = ("brick", "grass", "gravel", "camera", "moon", "coins", "clock")

Color = tuple[float, float, float]


@dataclass(frozen=True)
class TextureSpec:
    """A texture recipe; equal specs give identical images."""

    kind: str
    """One of :data:`PROCEDURAL` or ``"photo"``."""
    seed: int = 0
    """Seed of the pattern's randomness."""
    colors: tuple[Color, ...] = ((0.8, 0.8, 0.8), (0.4, 0.4, 0.4))
    """Palette (linear RGB in [0, 1]); the meaning of each entry depends on ``kind``."""
    params: tuple[float, ...] = ()
    """Kind-specific numbers (counts, frequencies)."""
    photo: str = ""
    """For ``kind == "photo"``: the ``skimage.data`` image name."""
    crop: tuple[float, float, float] = (0.0, 0.0, 1.0)
    """For photos: crop (top, left, size) as fractions of the shorter image side."""
    mirror: bool = False
    """For photos: mirror-tile the crop so it repeats without seams (ground and wall materials)."""


@dataclass(frozen=True)
class Material:
    """A tinted texture mapped by object-space planar projection (dominant axis of the normal)."""

    texture: TextureSpec
    """The texture recipe."""
    tint: Color = (1.0, 1.0, 1.0)
    """Multiplies the texture colour."""
    scale: tuple[float, float] = (1.0, 1.0)
    """Metres per texture repeat along the two projected axes."""
    offset: tuple[float, float] = (0.0, 0.0)
    """Texture-space offset (fractions of a repeat); 0.5 centres an image on a face at the origin."""
    emissive: float = 0.0
    """Self-lit fraction (windows glowing, lamp shades): adds ``emissive * colour`` unshadowed."""
    shiny: float = field(default=0.0)
    """Strength of a Blinn-Phong highlight from the key light."""


# ------------------------------------------------------------------------------ noise helpers
def _value_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Periodic smooth value noise ``[size, size]`` in [0, 1] on a ``cells x cells`` lattice."""
    grid = rng.random((cells, cells))
    x = np.arange(size) * cells / size
    i0 = np.floor(x).astype(int)
    f = x - i0
    f = f * f * (3 - 2 * f)
    i1 = (i0 + 1) % cells
    i0 = i0 % cells
    rows0 = grid[i0][:, i0] * (1 - f)[None, :] + grid[i0][:, i1] * f[None, :]
    rows1 = grid[i1][:, i0] * (1 - f)[None, :] + grid[i1][:, i1] * f[None, :]
    return rows0 * (1 - f)[:, None] + rows1 * f[:, None]


def fbm(rng: np.random.Generator, size: int, base_cells: int = 4, octaves: int = 5) -> np.ndarray:
    """Periodic fractal noise ``[size, size]`` normalised to [0, 1]."""
    total = np.zeros((size, size))
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        cells = min(base_cells * 2**o, size)
        total += amp * _value_noise(rng, size, cells)
        norm += amp
        amp *= 0.5
    total /= norm
    return (total - total.min()) / max(np.ptp(total), 1e-9)


def _mix(c0, c1, w: np.ndarray) -> np.ndarray:
    c0, c1 = np.asarray(c0, float), np.asarray(c1, float)
    return c0 * (1 - w[..., None]) + c1 * w[..., None]


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    v, u = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5, indexing="ij")
    return u / size, v / size  # [S, S] in [0, 1)


# ------------------------------------------------------------------------------ patterns
def _noise(spec: TextureSpec, rng, S):
    cells = int(spec.params[0]) if spec.params else 4
    return _mix(spec.colors[0], spec.colors[1], fbm(rng, S, cells))


def _stripes(spec: TextureSpec, rng, S):
    n = int(spec.params[0]) if spec.params else 8
    u, _ = _grid(S)
    w = (np.floor(u * n) % 2).astype(float)
    return _mix(spec.colors[0], spec.colors[1], w) * (0.9 + 0.1 * fbm(rng, S, 8))[..., None]


def _checker(spec: TextureSpec, rng, S):
    n = int(spec.params[0]) if spec.params else 4
    u, v = _grid(S)
    w = ((np.floor(u * n) + np.floor(v * n)) % 2).astype(float)
    return _mix(spec.colors[0], spec.colors[1], w) * (0.92 + 0.08 * fbm(rng, S, 8))[..., None]


def _brick(spec: TextureSpec, rng, S):
    rows, cols = (int(spec.params[0]), int(spec.params[1])) if len(spec.params) >= 2 else (8, 4)
    u, v = _grid(S)
    row = np.floor(v * rows)
    uu = u * cols + 0.5 * (row % 2)
    col = np.floor(uu)
    fu, fv = uu - col, v * rows - row
    mortar = (fu < 0.06) | (fv < 0.12)
    brick_id = (row * 97 + (col % cols) * 13).astype(int)
    jitter = rng.uniform(0.75, 1.15, size=rows * 97 + cols * 13 + 1)[brick_id]
    base = np.asarray(spec.colors[0]) * jitter[..., None] * (0.85 + 0.15 * fbm(rng, S, 16))[..., None]
    return np.where(mortar[..., None], np.asarray(spec.colors[1]) * (0.9 + 0.1 * fbm(rng, S, 32))[..., None], base)


def _tiles(spec: TextureSpec, rng, S):
    n = int(spec.params[0]) if spec.params else 4
    u, v = _grid(S)
    fu, fv = (u * n) % 1, (v * n) % 1
    grout = (fu < 0.04) | (fv < 0.04)
    tid = (np.floor(u * n) * n + np.floor(v * n)).astype(int)
    jitter = rng.uniform(0.9, 1.08, size=n * n)[tid]
    base = np.asarray(spec.colors[0]) * jitter[..., None] * (0.9 + 0.1 * fbm(rng, S, 8))[..., None]
    return np.where(grout[..., None], np.asarray(spec.colors[1]), base)


def _wood(spec: TextureSpec, rng, S):
    planks = int(spec.params[0]) if spec.params else 4
    u, v = _grid(S)
    plank = np.floor(v * planks)
    offset = rng.random(planks + 1)[plank.astype(int)]
    warp = fbm(rng, S, 4)
    rings = np.sin((v * planks * 6 + 3 * warp + offset * 10) * np.pi * 2 + 20 * u * offset) * 0.5 + 0.5
    grain = 0.7 * rings**3 + 0.3 * fbm(rng, S, 32)
    img = _mix(spec.colors[0], spec.colors[1], grain)
    img *= (0.85 + 0.3 * offset)[..., None]
    seam = ((v * planks) % 1) < 0.03
    end_seam = (((u + offset) * 2) % 1 < 0.01)
    return np.where((seam | end_seam)[..., None], img * 0.55, img)


def _gradient(spec: TextureSpec, rng, S):
    _, v = _grid(S)
    return _mix(spec.colors[0], spec.colors[1], v) * (0.95 + 0.05 * fbm(rng, S, 8))[..., None]


def _facade(spec: TextureSpec, rng, S):
    """One repeat = one window bay: wall, window frame, glass with sky reflection."""
    wall, glass, frame = spec.colors[:3]
    win_w, win_h = (spec.params[0], spec.params[1]) if len(spec.params) >= 2 else (0.5, 0.55)
    u, v = _grid(S)
    wall_img = np.asarray(wall) * (0.8 + 0.2 * fbm(rng, S, 16))[..., None]
    du, dv = np.abs(u - 0.5), np.abs(v - 0.5)
    in_frame = (du < win_w / 2 + 0.04) & (dv < win_h / 2 + 0.04)
    in_glass = (du < win_w / 2) & (dv < win_h / 2)
    mullion = (du < 0.015) | (np.abs(v - 0.5 + win_h * 0.2) < 0.012)
    reflect = np.clip(0.6 + 0.6 * (0.5 - v) + 0.3 * fbm(rng, S, 4) - 0.15, 0.2, 1.2)
    glass_img = np.asarray(glass) * reflect[..., None]
    sill = (dv > win_h / 2 + 0.04) & (dv < win_h / 2 + 0.07) & (du < win_w / 2 + 0.07) & (v > 0.5)
    img = np.where(in_frame[..., None], np.asarray(frame), wall_img)
    img = np.where((in_glass & ~mullion)[..., None], glass_img, img)
    return np.where(sill[..., None], np.asarray(frame) * 0.8, img)


def _asphalt(spec: TextureSpec, rng, S):
    base = _mix(spec.colors[0], spec.colors[1], fbm(rng, S, 16))
    speck = rng.random((S, S)) > 0.97
    return np.where(speck[..., None], base * 1.4, base)


def _road(spec: TextureSpec, rng, S):
    """Asphalt with a dashed centre line along u and solid edge lines (one repeat = one dash)."""
    img = _asphalt(spec, rng, S)
    u, v = _grid(S)
    line = spec.colors[2] if len(spec.colors) > 2 else (0.9, 0.9, 0.85)
    dash = (np.abs(v - 0.5) < 0.012) & (u < 0.5)
    edges = np.abs(np.abs(v - 0.5) - 0.45) < 0.01
    return np.where((dash | edges)[..., None], np.asarray(line) * (0.85 + 0.15 * fbm(rng, S, 32))[..., None], img)


def _fabric(spec: TextureSpec, rng, S):
    u, v = _grid(S)
    weave = 0.5 + 0.25 * np.sin(u * S * np.pi / 2) * np.sin(v * S * np.pi / 2)
    return _mix(spec.colors[0], spec.colors[1], 0.6 * fbm(rng, S, 8) + 0.4 * weave)


def _leaves(spec: TextureSpec, rng, S):
    blot = fbm(rng, S, 16)
    img = _mix(spec.colors[0], spec.colors[1], blot)
    dark = fbm(rng, S, 32) > 0.62
    return np.where(dark[..., None], img * 0.6, img)


def _books(spec: TextureSpec, rng, S):
    """A shelf row of book spines (one repeat = one shelf of books)."""
    u, v = _grid(S)
    edges = np.sort(rng.random(14))
    idx = np.searchsorted(edges, u)
    hues = rng.random((16, 3)) * 0.6 + 0.15
    height = rng.uniform(0.6, 0.95, 16)[idx]
    img = hues[idx] * (0.85 + 0.15 * fbm(rng, S, 16))[..., None]
    band = (np.abs(v - 0.25) < 0.02)
    img = np.where(band[..., None], img * 1.5, img)
    empty = (1 - v) > height
    return np.where(empty[..., None], np.asarray(spec.colors[0]) * 0.3, img)


PROCEDURAL = {
    "noise": _noise, "stripes": _stripes, "checker": _checker, "brick": _brick, "tiles": _tiles,
    "wood": _wood, "gradient": _gradient, "facade": _facade, "asphalt": _asphalt, "road": _road,
    "fabric": _fabric, "leaves": _leaves, "books": _books,
}


def _photo(spec: TextureSpec, S: int) -> np.ndarray:
    import skimage.data
    from skimage.transform import resize

    img = np.asarray(getattr(skimage.data, spec.photo)())
    img = img.astype(np.float64) / (255.0 if img.dtype == np.uint8 else max(img.max(), 1e-9))
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    img = img[..., :3]
    side = min(img.shape[:2])
    top, left, frac = spec.crop
    n = max(8, int(side * frac))
    y0 = int(np.clip(top * side, 0, img.shape[0] - n))
    x0 = int(np.clip(left * side, 0, img.shape[1] - n))
    crop = img[y0:y0 + n, x0:x0 + n]
    if spec.mirror:
        half = resize(crop, (S // 2, S // 2), anti_aliasing=True)
        top_row = np.concatenate([half, half[:, ::-1]], 1)
        return np.concatenate([top_row, top_row[::-1]], 0)
    return resize(crop, (S, S), anti_aliasing=True)


@lru_cache(maxsize=512)
def texture_image(spec: TextureSpec, size: int = TEXTURE_SIZE) -> np.ndarray:
    """The texture of ``spec`` as ``uint8 [size, size, 3]``; row 0 is texture v = 0."""
    if spec.kind == "photo":
        img = _photo(spec, size)
    elif spec.kind in PROCEDURAL:
        img = PROCEDURAL[spec.kind](spec, np.random.default_rng(spec.seed), size)
    else:
        raise ValueError(f"TextureSpec.kind: unknown texture kind {spec.kind!r}")
    img = np.clip(img, 0, 1)
    img.setflags(write=False)
    return (img * 255 + 0.5).astype(np.uint8)


# ------------------------------------------------------------------------------ sampling helpers
def jitter_color(rng: np.random.Generator, color: Color, amount: float = 0.08) -> Color:
    """A colour randomly varied by about ``amount`` per channel (and overall brightness)."""
    c = np.asarray(color) * rng.uniform(1 - amount, 1 + amount) + rng.normal(0, amount / 2, 3)
    return tuple(np.clip(c, 0.02, 1.0).tolist())


def photo_texture(rng: np.random.Generator, names=PHOTOS_RGB, mirror: bool = False, min_frac: float = 0.4) -> TextureSpec:
    """A random crop of one of the bundled photographs."""
    frac = float(rng.uniform(min_frac, 1.0))
    return TextureSpec("photo", photo=str(rng.choice(list(names))), mirror=mirror,
                       crop=(float(rng.uniform(0, 1 - frac)), float(rng.uniform(0, 1 - frac)), frac))
