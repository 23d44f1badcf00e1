"""Where each part of a model file is (the file:line:column of every message), and the
bounds that refuse a few bytes of aliases standing for millions of values."""

from __future__ import annotations

import pytest

from mql.model.yaml_marks import Mark, YamlSyntaxError, load


def test_a_missing_key_is_located_at_its_nearest_ancestor() -> None:
    doc = load("# a comment\n\nfit:\n  rules:\n    - name: a\n      points: 5\n")
    assert doc.mark(("fit", "rules", 0, "points")) == Mark(6, 15)
    assert doc.mark(("fit", "rules", 0, "points"), key=True) == Mark(6, 7)
    # absent: the rule, then the list, then the document
    assert doc.mark(("fit", "rules", 0, "when", "field")) == Mark(5, 7)
    assert doc.mark(("fit", "rules", 0, "when"), key=True) == Mark(5, 7)
    assert doc.mark(("fit", "max")) == Mark(4, 3)
    assert doc.mark(("intent",)) == Mark(3, 1)  # the document starts after the comment
    assert doc.mark(()) == Mark(3, 1)
    assert load("").mark(("fit",)) == Mark(1, 1)


def _tower(levels: int, width: int = 10) -> str:
    """Each level a list of `width` aliases of the level below: width ** levels values."""
    lines = ["l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_a_document_that_expands_beyond_the_limit_is_refused_where_it_overflows() -> None:
    assert load(_tower(4)).data["l3"][9][9][9] == ["x"] * 10  # 11,111 values: read
    with pytest.raises(YamlSyntaxError) as caught:
        load(_tower(6))  # 1,111,111 values in 6 short lines
    assert str(caught.value) == ("the document expands to more than 200,000 values "
                                 "(aliases followed)")
    assert caught.value.mark == Mark(6, 5)  # the list of level 5 (at its anchor)
    # 12 wide: 13, 157, 1,885, 22,621 values, then 271,453 at level 4, on line 5
    with pytest.raises(YamlSyntaxError) as caught:
        load(_tower(5, width=12))
    assert caught.value.mark == Mark(5, 5)


def test_an_alias_inside_its_own_value_is_refused() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load("a: &a\n  b: [1, *a]\n")
    assert str(caught.value) == "an alias refers to the value that contains it"
    assert caught.value.mark == Mark(1, 4)  # the value, at its anchor
