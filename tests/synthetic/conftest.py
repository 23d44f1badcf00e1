"""A medium world shared by the distribution tests (generated once per session)."""

from __future__ import annotations

import random

import pytest

from mql.synthetic import AccountSlice, World, WorldParameters

MEDIUM_ACCOUNTS = 1200
MEDIUM_MONTHS = 12


@pytest.fixture(scope="session")
def medium_world() -> tuple[World, list[AccountSlice]]:
    world = World(WorldParameters(accounts=MEDIUM_ACCOUNTS, months=MEDIUM_MONTHS),
                  random.Random(20251))
    return world, list(world.accounts())
