"""VGGT at its published configuration (VGGT-1B), loadable from the released checkpoint."""

from genscene.models.vggt.model import VGGT, VGGTConfig

__all__ = ["VGGT", "VGGTConfig"]
