"""Random draws the synthetic world needs beyond `random.Random`: Poisson counts,
weighted picks and per-account random streams.

Every function takes the `random.Random` to draw from, so a world is reproducible
from its seed alone.

>>> import random
>>> rng = random.Random(1)
>>> poisson(rng, 0.0)
0
>>> pick(rng, {"a": 1.0})
'a'
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
# weights mapping -> (the mapping, its keys, cumulative weights); the mapping is kept so that
# its id cannot be reused while cached
_CUMULATIVE: dict[int, tuple[Any, list[Any], list[float]]] = {}


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count with the given mean (normal approximation above 30).

    >>> rng = random.Random(3)
    >>> sum(poisson(rng, 2.0) for _ in range(4000)) / 4000  # doctest: +ELLIPSIS
    2.0...
    """
    if mean <= 0.0:
        return 0
    if mean > 30.0:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    # Knuth's multiplication method: exact and fast for the small weekly means we use
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def pick(rng: random.Random, weights: Mapping[T, float]) -> T:
    """One key of `weights`, drawn with probability proportional to its weight.

    >>> pick(random.Random(0), {"x": 0.0, "y": 2.0})
    'y'
    """
    cached = _CUMULATIVE.get(id(weights))
    if cached is None or cached[0] is not weights:
        if len(_CUMULATIVE) > 512:
            _CUMULATIVE.clear()
        keys = list(weights)
        cached = (weights, keys, list(itertools.accumulate(weights[k] for k in keys)))
        _CUMULATIVE[id(weights)] = cached
    _, keys, cumulative = cached
    # the same draw as rng.choices(keys, weights)[0], without rebuilding the sums each time
    return keys[bisect.bisect(cumulative, rng.random() * cumulative[-1], 0, len(keys) - 1)]


def one_of(rng: random.Random, items: Sequence[T]) -> T:
    """One item of `items`, each equally likely.

    >>> one_of(random.Random(0), ["only"])
    'only'
    """
    return items[int(rng.random() * len(items))]


def child(seed_material: str) -> random.Random:
    """A random stream seeded from text, independent of the stream that made the text.

    The world draws one base token from its `rng` and gives each account
    ``child(f"{token}:{index}")``, so account 42 is the same whatever is drawn for
    account 41 (string seeds hash with SHA-512, stable across runs and platforms).

    >>> child("w:1").random() == child("w:1").random()
    True
    """
    digest = hashlib.sha256(seed_material.encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def chance(rng: random.Random, probability: float) -> bool:
    """True with the given probability.

    >>> chance(random.Random(0), 1.0), chance(random.Random(0), 0.0)
    (True, False)
    """
    return rng.random() < probability
