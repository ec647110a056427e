"""Geometry: projection, point clouds, Gaussians, alignment."""
