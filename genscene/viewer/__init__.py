"""``genscene view``: a scene in the browser, on viser (the optional ``view`` extra, imported lazily).

What is shown (:func:`populate`): the point cloud of ``points.ply`` (far background points of
``points_far.ply`` behind a checkbox, hidden at first so the view frames the scene) or the scene's 3D
Gaussians, one camera frustum per frame with the frame as its image (a dropdown swaps in the
colour-mapped depth), and the first camera as the initial view. The server binds 127.0.0.1 only.

:func:`load_view_data` does the reading and the numbers without viser, so both halves are tested apart.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genscene.errors import InputError

HOST = "127.0.0.1"
"""The only address the viewer binds: a scene is never served beyond this machine."""
INSTALL_HINT = 'pip install "genscene[view]"'
FRUSTUM_LINE_PX = 2.0
"""Frustum lines' width on screen, whatever the scene's size."""


@dataclass
class ViewConfig:
    """What the viewer shows and where it listens."""

    port: int = 8080
    """TCP port on 127.0.0.1 (the next free one when taken; 0: any free port)."""
    max_points: int = 300_000
    """Points sent to the browser at most (a fixed random subset beyond it)."""
    image_size: int = 160
    """Long side in pixels of the frames shown in the frusta."""
    point_size: float | None = None
    """Point size in world units (None: 0.6% of the scene's median distance to the cameras)."""
    frustum_scale: float | None = None
    """Frustum depth in world units (None: 8% of that median distance)."""


@dataclass
class ViewData:
    """A scene reduced to what the viewer draws (numpy, world coordinates, OpenCV cameras)."""

    name: str
    """Title: the scene's folder or file name."""
    points: np.ndarray | None = None
    """Points ``[N, 3]`` float32 of ``points.ply`` (subsampled to ``max_points``)."""
    colors: np.ndarray | None = None
    """Their colours ``[N, 3]`` uint8."""
    far_points: np.ndarray | None = None
    """Far background points ``[M, 3]`` of ``points_far.ply``."""
    far_colors: np.ndarray | None = None
    """Their colours ``[M, 3]`` uint8."""
    gaussians: dict[str, np.ndarray] | None = None
    """``centers [G, 3]``, ``covariances [G, 3, 3]``, ``rgbs [G, 3]`` in [0, 1], ``opacities [G, 1]``."""
    c2w: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 4)))
    """Camera-to-world ``[T, 4, 4]`` (OpenCV axes: +x right, +y down, +z forward)."""
    fov_y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Vertical field of view per camera ``[T]`` in radians."""
    aspect: float = 1.0
    """Width / height of the frames."""
    frames: list[np.ndarray] = field(default_factory=list)
    """RGB ``uint8 [h, w, 3]`` per camera, long side ``image_size``."""
    depths: list[np.ndarray] = field(default_factory=list)
    """Colour-mapped depth ``uint8 [h, w, 3]`` per camera (empty without depth)."""
    scale: float = 1.0
    """The scene's size: median distance of its points (or Gaussians) to the nearest camera."""


# ------------------------------------------------------------------------------------ reading
def load_view_data(path: str | Path, cfg: ViewConfig | None = None) -> ViewData:
    """Read a scene folder (or a Gaussian / point ``.ply``) into :class:`ViewData`; an :class:`InputError`
    naming the file when it is not one."""
    cfg = cfg or ViewConfig()
    path = Path(path)
    if path.is_dir():
        data = _scene_data(path, cfg)
    elif path.is_file() and path.suffix.lower() == ".ply":
        data = _ply_data(path, cfg)
    elif not path.exists():
        raise InputError(path, "not found")
    else:
        raise InputError(path, "expected a scene folder or a .ply file")
    if data.points is None and data.gaussians is None and not len(data.c2w):
        raise InputError(path, "holds nothing to show (no points, Gaussians or cameras)")
    data.scale = _scene_scale(data)
    return data


def _scene_data(path: Path, cfg: ViewConfig) -> ViewData:
    from genscene.io import depth as depth_io
    from genscene.io.ply import read_points_ply
    from genscene.io.scene import POINTS_FAR, read_scene

    scene = read_scene(path)
    data = ViewData(name=path.name)
    if (path / "points.ply").exists():
        data.points, data.colors = _cloud(read_points_ply(path / "points.ply"), cfg.max_points)
    if (path / POINTS_FAR).exists():
        data.far_points, data.far_colors = _cloud(read_points_ply(path / POINTS_FAR), cfg.max_points)
    if scene.gaussians is not None:
        data.gaussians = _gaussian_arrays(scene.gaussians)
    cams = scene.cameras
    data.c2w = cams.c2w.reshape(-1, 4, 4).double().numpy()
    data.fov_y = cams.fov_y.reshape(-1).double().numpy()
    data.aspect = cams.width / cams.height
    data.frames = [_small((f.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), cfg.image_size)
                   for f in scene.frames]
    if scene.depths is not None:
        near, far = depth_io.preview_range(scene.depths)
        data.depths = [_small(depth_io.depth_preview_rgb(d, near, far), cfg.image_size) for d in scene.depths]
    return data


def _ply_data(path: Path, cfg: ViewConfig) -> ViewData:
    from genscene.io.ply import read_gaussians_ply, read_points_ply

    data = ViewData(name=path.name)
    try:
        data.gaussians = _gaussian_arrays(read_gaussians_ply(path))
    except InputError:  # not the 3DGS layout: a plain point cloud (whose own errors name the file)
        data.points, data.colors = _cloud(read_points_ply(path), cfg.max_points)
    return data


def _cloud(cloud: dict[str, Any], max_points: int) -> tuple[np.ndarray, np.ndarray]:
    xyz = cloud["xyz"].float().numpy()
    rgb = cloud["rgb"]
    colors = (np.full_like(xyz, 200, dtype=np.uint8) if rgb is None
              else (rgb.float().numpy() * 255).round().clip(0, 255).astype(np.uint8))
    if len(xyz) > max_points:  # a fixed subset: the same view every time
        keep = np.sort(np.random.default_rng(0).choice(len(xyz), max_points, replace=False))
        xyz, colors = xyz[keep], colors[keep]
    return xyz, colors


def _gaussian_arrays(gaussians) -> dict[str, np.ndarray]:
    return {"centers": gaussians.means.float().numpy(),
            "covariances": gaussians.covariances().float().numpy(),
            "rgbs": gaussians.colors.float().clamp(0, 1).numpy(),
            "opacities": gaussians.opacities.float().reshape(-1, 1).numpy()}


def _small(image: np.ndarray, long_side: int) -> np.ndarray:
    from PIL import Image

    h, w = image.shape[:2]
    factor = long_side / max(h, w)
    if factor >= 1:
        return image
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def _scene_scale(data: ViewData) -> float:
    xyz = data.points if data.points is not None else (data.gaussians or {}).get("centers")
    if xyz is None or not len(xyz):
        if len(data.c2w) > 1:  # cameras only: their spread
            centres = data.c2w[:, :3, 3]
            return float(np.linalg.norm(centres - centres.mean(0), axis=1).max()) or 1.0
        return 1.0
    centres = data.c2w[:, :3, 3] if len(data.c2w) else np.zeros((1, 3))
    dist = np.linalg.norm(xyz[:, None, :].astype(np.float64) - centres[None], axis=-1).min(axis=1)
    scale = float(np.median(dist))
    return scale if math.isfinite(scale) and scale > 0 else 1.0


# ------------------------------------------------------------------------------------ drawing
@dataclass
class ViewHandles:
    """What :func:`populate` added to the viser scene (tests inspect these)."""

    points: Any = None
    far_points: Any = None
    gaussians: Any = None
    frusta: list[Any] = field(default_factory=list)
    image_mode: Any = None
    """The GUI dropdown choosing the frusta's images: ``rgb`` or ``depth``."""
    show_far: Any = None
    """The GUI checkbox showing the far background points."""


def populate(server, data: ViewData, cfg: ViewConfig | None = None) -> ViewHandles:
    """Add ``data`` to a viser server's scene and GUI; return the handles."""
    from genscene.rotations import rotmat_to_quat_wxyz_np

    cfg = cfg or ViewConfig()
    handles = ViewHandles()
    scene = server.scene
    point_size = cfg.point_size or 0.006 * data.scale
    if data.points is not None:
        handles.points = scene.add_point_cloud("/points", data.points, data.colors, point_size=point_size)
    if data.far_points is not None:
        handles.far_points = scene.add_point_cloud("/points_far", data.far_points, data.far_colors,
                                                   point_size=point_size * 4, visible=False)
    if data.gaussians is not None:
        handles.gaussians = scene.add_gaussian_splats("/gaussians", **data.gaussians)
    frustum_scale = cfg.frustum_scale or 0.08 * data.scale
    for i, c2w in enumerate(data.c2w):
        wxyz = rotmat_to_quat_wxyz_np(c2w[:3, :3])
        image = data.frames[i] if i < len(data.frames) else None
        handles.frusta.append(scene.add_camera_frustum(
            f"/cameras/{i:05d}", fov=float(data.fov_y[i]), aspect=data.aspect, scale=frustum_scale,
            image=image, wxyz=wxyz, position=c2w[:3, 3], color=(255, 140, 0) if i == 0 else (40, 40, 40),
            thickness=FRUSTUM_LINE_PX, thickness_units="screen"))
    _gui(server, data, handles)
    _initial_camera(server, data)
    return handles


def _gui(server, data: ViewData, handles: ViewHandles) -> None:
    gui = server.gui
    gui.add_markdown(f"**{data.name}**: {len(data.c2w)} cameras"
                     + (f", {len(data.points)} points" if data.points is not None else "")
                     + (f", {len(data.gaussians['centers'])} Gaussians" if data.gaussians is not None else ""))
    if data.depths:
        handles.image_mode = gui.add_dropdown("frame images", ("rgb", "depth"), initial_value="rgb")

        @handles.image_mode.on_update
        def _(_event) -> None:
            images = data.depths if handles.image_mode.value == "depth" else data.frames
            for frustum, image in zip(handles.frusta, images):
                frustum.image = image

    if handles.far_points is not None:
        handles.show_far = gui.add_checkbox(f"far background ({len(data.far_points)} points)", initial_value=False)

        @handles.show_far.on_update
        def _(_event) -> None:
            handles.far_points.visible = handles.show_far.value


def _initial_camera(server, data: ViewData) -> None:
    """Start just behind and above the first camera, looking where it looked (what the user saw), its image's
    up as the scene's up. A short step (a quarter of the scene's size) clears the first frustum's image; a
    long one would put the viewer inside the cloud of a scene seen from all around."""
    if not len(data.c2w):
        return
    c2w = data.c2w[0]
    forward, down, centre = c2w[:3, 2], c2w[:3, 1], c2w[:3, 3]
    server.scene.set_up_direction(tuple(-down))
    back = 0.25 * data.scale * forward + 0.1 * data.scale * down
    server.initial_camera.position = tuple(centre - back)
    server.initial_camera.look_at = tuple(centre + data.scale * forward)
    server.initial_camera.up = tuple(-down)
    server.initial_camera.fov = float(data.fov_y[0])


# ------------------------------------------------------------------------------------ serving
def start_viewer(path: str | Path, cfg: ViewConfig | None = None):
    """Read ``path``, start a viser server on 127.0.0.1 and fill it: ``(server, handles, data)``.

    The caller stops the server (``server.stop()``); :func:`serve` waits on it.
    """
    cfg = cfg or ViewConfig()
    data = load_view_data(path, cfg)
    viser = import_viser()
    server = viser.ViserServer(host=HOST, port=cfg.port, verbose=False)
    try:
        handles = populate(server, data, cfg)
    except BaseException:
        server.stop()
        raise
    return server, handles, data


def import_viser():
    """The viser module; an :class:`InputError` saying how to install it when it is missing."""
    try:
        import viser
    except ImportError as err:
        raise InputError("viser", f"not installed ({err.__class__.__name__}); {INSTALL_HINT}") from None
    return viser


def serve(server, timeout_s: float | None = None) -> None:
    """Keep the server up until Ctrl-C, or for ``timeout_s`` seconds; stop it either way."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2 if deadline is None else min(0.2, max(0.0, deadline - time.monotonic())))
    finally:
        server.stop()
