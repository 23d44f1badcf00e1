"""The public surface users import is small and pinned; changing it is a decision."""

from __future__ import annotations

import mql


def test_the_public_api_is_exactly_this() -> None:
    assert sorted(mql.__all__) == [
        "Account", "Contact", "Decision", "Event", "Explanation", "MQLError", "ModelError",
        "Scorer", "__version__", "explain", "parse_model", "score",
    ]
    from mql import errors, records
    from mql.model.parse import parse_model
    from mql.scoring import explain, qualify, scorer

    assert (mql.parse_model, mql.score, mql.explain, mql.Scorer) == (
        parse_model, scorer.score, explain.explain, scorer.Scorer)
    assert (mql.Contact, mql.Account, mql.Event) == (records.Contact, records.Account,
                                                      records.Event)
    assert (mql.Decision, mql.Explanation) == (qualify.Decision, explain.Explanation)
    assert (mql.MQLError, mql.ModelError) == (errors.MQLError, errors.ModelError)
    assert mql.__version__ == "0.1.0"


def test_every_error_mql_raises_on_purpose_is_an_mql_error() -> None:
    from mql import errors

    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, Exception)]
    assert classes
    assert all(issubclass(c, errors.MQLError) for c in classes)
    assert issubclass(errors.ModelError, ValueError)
    assert issubclass(errors.InputError, ValueError)
