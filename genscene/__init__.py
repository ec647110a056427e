"""genscene: generative 3D scene reconstruction (architecture: docs/architecture.md)."""

__version__ = "0.1.0"
