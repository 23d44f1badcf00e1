"""A seeded synthetic B2B world: accounts, buying committees, journeys with hidden
intent, events, opportunities, consent, sales dispositions, costs and ground truth.

Pure: time (`WorldParameters.start`) and randomness (`random.Random`) are arguments; the
world is generated lazily, account by account. See docs/synthetic.md for the story.

>>> import random
>>> world = World(WorldParameters(accounts=2, months=1), random.Random(1))
>>> sum(len(s.contacts) >= 0 for s in world.accounts())
2
"""

from mql.synthetic.params import DEFAULT_START, WorldParameters
from mql.synthetic.world import AccountSlice, World

__all__ = ["DEFAULT_START", "AccountSlice", "World", "WorldParameters"]
