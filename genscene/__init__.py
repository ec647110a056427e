"""genscene: generative 3D scene reconstruction (see DESIGN.md in the shared folder)."""

__version__ = "0.1.0"
