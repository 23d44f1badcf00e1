"""The attribution benchmark at a small size: mql's exact removal effects agree with the
independent computation, and the store's first-touch credit with hand-written SQL."""

from __future__ import annotations

import argparse

from bench import bench_attribution


def test_the_benchmark_agrees_with_its_baselines() -> None:
    args = argparse.Namespace(attr_journeys=3000, attr_seed=18, attr_repeats=1,
                              attr_contacts=400, attr_rules_journeys=500)
    results = {r["metric"]: r for r in bench_attribution.run(args)}
    assert results["markov_max_abs_difference"]["ok"]
    assert results["markov_max_abs_difference"]["value"] <= 1e-9
    assert results["store_all_models_contact_seconds"]["first_touch_agrees"]
    assert results["store_all_models_contact_seconds"]["opportunities"] > 0
    assert 0 <= results["last_l1_to_true_shares"]["value"] <= 2
