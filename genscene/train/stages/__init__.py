"""The trainable stages, by name. Each module is imported only when its stage is asked for."""

from __future__ import annotations

import importlib

from genscene.errors import InputError

STAGES = {
    "vae": "genscene.train.stages.vae:VAEStage",
    "geometry": "genscene.train.stages.geometry:GeometryStage",
    "generator": "genscene.train.stages.generator:GeneratorStage",
    "decoder": "genscene.train.stages.decoder:DecoderStage",
}


def get_stage(name: str):
    """An instance of the named stage; unknown names are an input error listing the known ones."""
    if name not in STAGES:
        raise InputError("stage", f"unknown stage {name!r}; known: {', '.join(sorted(STAGES))}")
    module, cls = STAGES[name].split(":")
    return getattr(importlib.import_module(module), cls)()
