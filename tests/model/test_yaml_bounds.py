"""A model file nested too deep or with too many aliases is refused at the line and column
where the offending node starts (1-based), not with a traceback."""

from __future__ import annotations

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model
from mql.model.yaml_marks import MAX_ALIASES, MAX_DEPTH


def test_nesting_deeper_than_the_limit_is_refused_where_it_starts() -> None:
    # "a: " then MAX_DEPTH + 1 flow sequences; the root mapping is level 1, so the node one
    # level too deep is bracket number MAX_DEPTH, at column 3 + MAX_DEPTH of line 1
    text = "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    with pytest.raises(ModelError) as refused:
        parse_model(text)
    message = str(refused.value)
    assert f"nested more than {MAX_DEPTH} levels deep" in message
    assert f"model.yaml:1:{3 + MAX_DEPTH}" in message


def test_more_aliases_than_the_limit_are_refused_at_the_next_one() -> None:
    lines = ["x: &x 1", "refs:"] + ["  - *x"] * (MAX_ALIASES + 1)
    with pytest.raises(ModelError) as refused:
        parse_model("\n".join(lines) + "\n")
    message = str(refused.value)
    assert f"more than {MAX_ALIASES} aliases (*name); a model file needs few" in message
    # the first alias is on line 3; the one over the limit on line 3 + MAX_ALIASES
    assert f"model.yaml:{3 + MAX_ALIASES}:" in message
