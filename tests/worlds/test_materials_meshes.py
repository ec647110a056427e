"""Textures are deterministic and tile; photo textures load offline; meshes load from files."""

import numpy as np
import pytest
import trimesh

from genscene.errors import InputError
from genscene.worlds.materials import PHOTOS_GREY, PHOTOS_RGB, PROCEDURAL, TextureSpec, texture_image
from genscene.worlds.primitives import TriMesh


def test_procedural_textures_are_seeded_and_tile_seamlessly():
    for kind in PROCEDURAL:
        spec = TextureSpec(kind, seed=3, colors=((0.8, 0.6, 0.4), (0.2, 0.3, 0.5), (0.9, 0.9, 0.9)))
        img = texture_image(spec, 64).astype(float)
        assert img.shape == (64, 64, 3) and img.std() > 1.0, kind
        assert np.array_equal(img, texture_image(TextureSpec(**{**spec.__dict__}), 64)), kind
    # Seamless noise: the jump across the wrap-around is like any other neighbour step.
    noise = texture_image(TextureSpec("noise", seed=1, colors=((1, 1, 1), (0, 0, 0)), params=(4,)), 64).astype(float)
    inner = np.abs(np.diff(noise, axis=1)).mean()
    wrap = np.abs(noise[:, 0] - noise[:, -1]).mean()
    assert wrap < 3 * inner + 1


@pytest.mark.parametrize("name", PHOTOS_RGB + PHOTOS_GREY)
def test_photo_textures_ship_with_scikit_image(name):
    img = texture_image(TextureSpec("photo", photo=name, crop=(0.1, 0.1, 0.5), mirror=name in PHOTOS_GREY), 32)
    assert img.shape == (32, 32, 3) and img.std() > 5


def test_mesh_from_file_is_centred_and_scaled(tmp_path):
    path = tmp_path / "box.obj"
    trimesh.creation.box(extents=(2.0, 1.0, 0.5), transform=trimesh.transformations.translation_matrix((5, 0, 0))).export(path)
    mesh = TriMesh.from_file(path, size=1.0)
    v = np.asarray(mesh.vertices)
    np.testing.assert_allclose(v.max(0), [0.5, 0.25, 0.125], atol=1e-9)
    np.testing.assert_allclose(v.min(0), -v.max(0), atol=1e-9)
    assert len(mesh.faces) == 12
    (tmp_path / "bad.obj").write_text("this is not a mesh\n")
    with pytest.raises(InputError, match="bad.obj"):
        TriMesh.from_file(tmp_path / "bad.obj")
