"""`GET /v1/reports/calibration` and `/v1/reports/backtest` answer what `mql calibrate` and
`mql backtest` print as JSON; a parameter that cannot be used is a 400 naming it."""

from __future__ import annotations

from tests.api.conftest import Server


def test_calibration_of_a_store_without_outcomes_says_so(server: Server) -> None:
    with server.client("read-only") as c:
        answer = c.get("/v1/reports/calibration", params={"outcome": "won"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["outcome"] == "won" and body["recommended"] is None
    assert body["outreaches"] == 0
    assert any("nothing to calibrate" in n for n in body["notes"])


def test_a_bad_parameter_is_a_400_naming_it(server: Server) -> None:
    with server.client("read-only") as c:
        bad_outcome = c.get("/v1/reports/calibration", params={"outcome": "revenue"})
        bad_day = c.get("/v1/reports/calibration", params={"from": "March"})
    assert bad_outcome.status_code == 400 and "revenue" in bad_outcome.json()["detail"]
    assert bad_day.status_code == 400 and "from" in bad_day.json()["detail"]


def test_the_live_version_backtested_against_itself_changes_nothing(server: Server) -> None:
    with server.client("marketing") as c:
        live = c.get("/v1/reports/backtest", params={"version": 1})
        unknown = c.get("/v1/reports/backtest", params={"version": 999})
    assert live.status_code == 200, live.text
    assert live.json()["identical"] is True
    assert live.json()["newly_qualified"] == [] and live.json()["dropped_out"] == []
    assert unknown.status_code == 404
