"""Dataset readers: real multi-view sets with GT cameras (:mod:`genscene.data.multiview`) and
held-out procedural worlds as the same cases (:mod:`genscene.data.world_cases`)."""
