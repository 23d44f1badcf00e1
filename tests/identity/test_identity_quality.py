"""Identity resolution measured on `mql synth --dirty 0.1` against its ground truth."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mql.identity.merge import IdentityRules
from mql.service.synth import write_world
from tests.identity.quality import account_quality, business_account_quality, duplicate_quality


@pytest.fixture(scope="module")
def dirty_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dirty")
    write_world(out, accounts=300, months=4, seed=11, dirty=0.1,
                start=datetime(2025, 1, 1, tzinfo=UTC))
    return out


def test_duplicate_people_are_merged_with_high_precision_and_recall(
    dirty_world: Path, tmp_path: Path
) -> None:
    q = duplicate_quality(dirty_world, tmp_path, IdentityRules())
    print(f"duplicates: precision {q.precision:.4f} recall {q.recall:.4f} "
          f"({q.true_positives}/{q.predicted} predicted, {q.actual} true pairs)")
    assert q.actual > 20
    assert q.precision >= 0.99
    assert q.recall >= 0.95


def test_leads_match_their_account_by_email_domain(dirty_world: Path) -> None:
    overall, business = account_quality(dirty_world), business_account_quality(dirty_world)
    print(f"accounts: precision {overall.precision:.4f} recall {overall.recall:.4f}; "
          f"business addresses recall {business.recall:.4f}")
    assert overall.precision >= 0.99
    assert business.recall >= 0.95
    assert overall.recall >= 0.80  # personal addresses never match by domain
