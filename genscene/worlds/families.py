"""Scene families: rooms, streets, courtyards and tabletops, each a pure function of (seed, dynamic).

World axes: z up, metres. Every family returns a :class:`World` with its camera and look-at regions.
"""

from __future__ import annotations

from genscene.worlds.family_common import family_rng
from genscene.worlds.family_outdoor import courtyard, street
from genscene.worlds.family_room import room
from genscene.worlds.family_tabletop import tabletop

FAMILIES = ("room", "street", "courtyard", "tabletop")
GENERATORS = {"room": room, "street": street, "courtyard": courtyard, "tabletop": tabletop}

__all__ = ["FAMILIES", "GENERATORS", "family_rng"]
