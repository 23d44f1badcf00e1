"""Attribution from a stored ledger (tests/reports/ledger.py), by hand, through the service,
`mql attribute` and `GET /v1/reports/attribution` on a real server; and from files.

The ledger's journeys (lookback 90 days before each opportunity was created):
  o1 ann, opened 01-20, won 10,000: paid_search (01-01 cpc/google), other (01-05 demo)
  o2 dan (its contact role; eve merged into him), opened 03-01, open 5,000:
     events (eve 02-03), paid_social (dan 02-10)
  o3 cat, opened 05-10, lost 7,000: her only touch (02-01) is 98 days before: none
  bob, no opportunity: email (01-11), other (01-12): a journey without a conversion
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from mql.api.app import create_app
from mql.batch.reports import Window
from mql.cli.main import app
from mql.clock import FixedClock
from mql.errors import ConfigError
from mql.service.attribution import Query, attribute_file, parse_models, run_attribution
from mql.store import tables as t
from mql.store.db import connect
from mql.store.models import activate, save_version
from tests.api.conftest import make_keys, make_workspace, running, settings_for
from tests.reports.ledger import AS_OF, d, write_ledger


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = make_workspace(tmp_path_factory.mktemp("attribution"))
    engine = connect(url)
    write_ledger(engine)
    engine.dispose()
    return url


def rows(result: object) -> dict[str, dict[str, object]]:
    data = result.to_json()  # type: ignore[attr-defined]
    return {r[data["by"][0]]: r for r in data["rows"]}


def test_first_touch_by_hand_with_cost_per_opportunity(store: str) -> None:
    engine = connect(store)
    r = rows(run_attribution(engine, Query(("first",)), now=AS_OF))
    assert r["paid_search"]["opportunities"] == 1.0
    assert r["paid_search"]["pipeline"] == 10_000.0
    assert (r["paid_search"]["won"], r["paid_search"]["revenue"]) == (1.0, 10_000.0)
    assert r["events"]["opportunities"] == 1.0 and r["events"]["pipeline"] == 5_000.0
    assert r["paid_search"]["cost_per_opportunity"] == 3_000.0  # January's 3,000
    assert r["events"]["cost_per_opportunity"] == 2_000.0
    assert r["events"]["cost_per_won"] is None  # o2 is still open
    assert r["email"]["opportunities"] == 0.0 and r["email"]["spend"] == 500.0
    engine.dispose()


def test_markov_total_allocation_by_hand(store: str) -> None:
    # start -> paid_search, events, email (1 each); paid_search -> other; email -> other;
    # other -> conversion 1, null 1; events -> paid_social -> conversion.
    # P = (1/2 + 1 + 1/2) / 3 = 2/3; removal effects: other 1/2, paid_search 1/4,
    # events 1/2, paid_social 1/2, email 1/4 (sum 2 = the 2 opportunities credited)
    engine = connect(store)
    result = run_attribution(engine, Query(("markov",)), now=AS_OF)
    r = rows(result)
    expected = {"other": 0.5, "paid_search": 0.25, "events": 0.5, "paid_social": 0.5,
                "email": 0.25}
    for channel, value in expected.items():
        assert r[channel]["opportunities"] == pytest.approx(value, abs=1e-12)
        assert r[channel]["removal_effect"] == pytest.approx(value, abs=1e-12)
    assert any("1 conversions without a touch" in n for n in result.notes)
    engine.dispose()


def test_window_and_linear(store: str) -> None:
    engine = connect(store)
    r = rows(run_attribution(engine, Query(("linear",), window=Window(d(2, 1), None)),
                             now=AS_OF))
    # only o2 opened from February on: half to events, half to paid_social
    assert r["events"]["opportunities"] == 0.5 and r["paid_social"]["pipeline"] == 2_500.0
    assert "paid_search" not in r  # ann's January journey is outside the window
    engine.dispose()


def test_account_level_with_role_weights(tmp_path: Path) -> None:
    url = make_workspace(tmp_path)
    engine = connect(url)
    write_ledger(engine)
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    text += "\nattribution:\n  roles: {champion: 2.0}\n"
    with engine.begin() as conn:
        tiny = conn.execute(sa.select(t.accounts.c.id)
                            .where(t.accounts.c.domain == "tiny.example")).scalar_one()
        conn.execute(t.opportunities.update().where(t.opportunities.c.external_id == "o2")
                     .values(account_id=tiny))
        activate(conn, save_version(conn, "b2b_saas", "2", text, source="m.yaml", now=AS_OF),
                 now=AS_OF)
    r = rows(run_attribution(engine, Query(("linear",), level="account"), now=AS_OF))
    # o2 at tiny: cat's touch (other, weight 1), eve's (events) and dan's (paid_social)
    # by its champion (weight 2): 1/5, 2/5, 2/5
    assert r["other"]["opportunities"] == pytest.approx(0.2)
    assert r["events"]["opportunities"] == pytest.approx(0.4)
    assert r["paid_social"]["opportunities"] == pytest.approx(0.4)
    engine.dispose()


def test_side_by_side_shows_what_last_touch_undervalues(store: str) -> None:
    engine = connect(store)
    result = run_attribution(engine, Query(parse_models("all")), now=AS_OF)
    r = rows(result)
    assert result.columns[1:4] == ["first", "last", "last_non_direct"]
    assert result.columns[-1] == "last_touch_gap"
    # events is only ever a first touch: last touch gives it nothing
    assert r["events"]["last"] == 0.0 and r["events"]["first"] == 1.0
    assert r["events"]["last_touch_gap"] < 0
    assert result.notes[0].startswith("last touch undervalues")
    assert "events" in result.notes[0]
    total = result.to_json()["total"]
    assert all(total[m] == pytest.approx(2.0) for m in parse_models("all"))
    engine.dispose()


def test_cli_and_api_answer_the_service_numbers(store: str) -> None:
    import httpx

    engine = connect(store)
    expected = run_attribution(engine, Query(("u",), level="contact"), now=AS_OF).to_json()
    engine.dispose()
    runner = CliRunner()
    out = runner.invoke(app, ["attribute", "--model", "u", "--db", store, "--at",
                              AS_OF.isoformat(), "-f", "json"])
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout) == expected
    table = runner.invoke(app, ["attribute", "--model", "all", "--db", store, "--at",
                                AS_OF.isoformat()])
    assert table.exit_code == 0 and "last touch undervalues" in table.stdout
    wrong = runner.invoke(app, ["attribute", "--model", "lastt", "--db", store])
    assert wrong.exit_code == 2 and "choose one of first" in wrong.stderr
    assert "Traceback" not in wrong.stderr + wrong.stdout
    keys = make_keys(store)
    with running(create_app(settings_for(store), clock=FixedClock(AS_OF))) as base, \
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['sales']}"},
                         timeout=30) as client:
        answer = client.get("/v1/reports/attribution", params={"model": "u"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected
        bad = client.get("/v1/reports/attribution", params={"model": "nope"})
        assert bad.status_code == 400 and "choose one of" in bad.json()["detail"]
        assert client.get("/v1/reports/attribution",
                          params={"level": "planet"}).status_code == 422


def test_paths_file_like_channel_attribution(tmp_path: Path) -> None:
    paths = tmp_path / "paths.csv"
    paths.write_text("path,total_conversions,total_null,total_conversion_value\n"
                     "c1 > c2 > c3,1,0,10\nc1,1,0,5\nc2 > c3,0,1,0\n"
                     "c1 > > c2,1,0,1\nc3,two,0,0\n")
    result = attribute_file(paths, Query(("markov",)), kind="paths", now=AS_OF)
    r = rows(result)
    assert r["c1"]["conversions"] == pytest.approx(2 * 0.75 / 1.75)
    assert r["c1"]["value"] == pytest.approx(15 * 0.75 / 1.75)
    assert any(":5 left out" in n and "empty step" in n for n in result.notes)
    assert any(":6 left out" in n and "total_conversions" in n for n in result.notes)


def test_journey_file_one_row_per_touch(tmp_path: Path) -> None:
    f = tmp_path / "journeys.csv"
    f.write_text("id,time,channel,conversion,value\n"
                 "a,2026-01-01,events,0,\na,2026-01-08,email,1,100\n"
                 "b,2026-01-02,email,0,\nb,2026-01-03,direct,1,50\n"
                 "c,soon,email,0,\n")
    result = attribute_file(f, Query(("last_non_direct",)), kind="journeys", now=AS_OF)
    r = rows(result)
    assert r["email"]["conversions"] == 2.0 and r["email"]["value"] == 150.0
    assert any(":6 left out" in n for n in result.notes)
    decay = rows(attribute_file(f, Query(("time_decay",)), kind="journeys", now=AS_OF))
    # a: events 7 days before the conversion (half-life 7): 1/3 of it
    assert decay["events"]["conversions"] == pytest.approx(1 / 3)
    with pytest.raises(ConfigError, match="cannot read"):
        attribute_file(tmp_path / "missing.csv", Query(), kind="paths", now=AS_OF)


def test_a_paths_file_has_no_times_for_time_decay(tmp_path: Path) -> None:
    paths = tmp_path / "paths.csv"
    paths.write_text("path,total_conversions,total_null\na > b,1,2\nb,1,0\n")
    with pytest.raises(ConfigError, match="use a journey file"):
        attribute_file(paths, Query(("time_decay",)), kind="paths", now=AS_OF)
    result = attribute_file(paths, Query(parse_models("all")), kind="paths", now=AS_OF)
    assert "time_decay" not in result.columns and "markov" in result.columns
    assert any("time_decay left out" in n for n in result.notes)


def test_an_empty_store_says_what_to_load(tmp_path: Path) -> None:
    url = make_workspace(tmp_path)
    result = run_attribution(connect(url), Query(parse_models("all")), now=AS_OF)
    assert result.rows == []
    assert any("mql ingest opportunities" in n for n in result.notes)


def test_sqlite_and_postgresql_give_identical_attribution(tmp_path: Path, pg_url: str
                                                          ) -> None:
    from mql.store.migrate import upgrade
    from tests.postgres import T_INIT

    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    answers = []
    for url in (f"sqlite:///{tmp_path / 'store.db'}", pg_url):
        engine = connect(url)
        upgrade(engine)
        with engine.begin() as conn:
            activate(conn, save_version(conn, "b2b_saas", "1", text, source="b2b-saas.yaml",
                                        now=T_INIT), now=T_INIT)
        write_ledger(engine)
        answers.append([run_attribution(engine, Query(parse_models("all"), level=level),
                                        now=AS_OF).to_json() for level in ("contact",
                                                                           "account")])
        engine.dispose()
    assert answers[0] == answers[1]
