"""Models: real architectures of the field at small sizes; each saves and loads its own config."""
