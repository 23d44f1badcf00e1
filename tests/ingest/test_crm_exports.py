"""Real CRM exports (HubSpot contacts, Salesforce leads) end to end: into the store on
SQLite and PostgreSQL, and scored from the files; the company columns of a contacts export
reach the contact's account, so account rules fire; imported stages are kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from mql.cli.main import app
from mql.identity.merge import IdentityRules
from mql.scoring.explain import Explanation
from mql.service.ingest import ingest_file, retry_quarantined
from mql.service.scoring import Inputs, explain_contact, load_model_file, score_files
from mql.service.store import find_contact, quarantined
from mql.store import accounts as account_store
from mql.store import handoff as handoff_store
from mql.store.tables import contacts as contacts_table

DATA = Path(__file__).parent / "data"
HUBSPOT = DATA / "hubspot-contacts.csv"
SALESFORCE = DATA / "salesforce-leads.csv"
EVENTS = DATA / "events-epoch.csv"
MODEL_PATH = Path(__file__).parents[2] / "src" / "mql" / "examples" / "models" / "b2b-saas.yaml"
DOC = Path(__file__).parents[2] / "docs" / "ingest.md"
NOW = datetime(2025, 3, 20, tzinfo=UTC)
RULES = IdentityRules()
runner = CliRunner()


def _account(store: Engine, domain: str) -> dict[str, object]:
    with store.connect() as conn:
        ids = account_store.ids_by_domain(conn, [domain])
        return dict(account_store.load_accounts(conn, ids.values())[ids[domain]].attributes)


def _fit_rules(explanation: Explanation) -> set[str]:
    return {line.rule for line in explanation.fit["fit"] if line.matched}


def test_hubspot_contacts_export_lands_every_row_and_fills_the_accounts(
        store: Engine) -> None:
    summary = ingest_file(store, HUBSPOT, "contacts", rules=RULES, now=NOW)
    assert summary.mapping == "hubspot"
    # every contact lands; the unreadable optional fields of row 5 cost only themselves
    assert (summary.rows, summary.loaded, summary.quarantined) == (4, 4, 0)
    assert summary.fields_dropped == 4
    held = sorted((q.row, q.field or "") for q in quarantined(store))
    assert held == [(5, "account.country"), (5, "country"), (5, "created_at"),
                    (5, "lifecycle_stage")]
    assert all(q.source == str(HUBSPOT) and "the row was kept" in q.reason
               for q in quarantined(store))
    jane = find_contact(store, "jane@acme.example", rules=RULES)
    assert jane.attributes["created_at"] == "2025-03-14T09:12:00+00:00"
    assert jane.attributes["country"] == "US" and jane.account == "acme.example"
    # the company columns are on the account the contact is matched to
    assert _account(store, "acme.example") == {
        "name": "Acme Cloud", "industry": "software", "employees": 1001,
        "revenue": 120000000.0, "country": "US"}
    assert _account(store, "northwind.example")["employees"] == 5000
    assert _account(store, "northwind.example")["industry"] == "healthcare"
    li = find_contact(store, "li@acme.example", rules=RULES)
    assert "created_at" not in li.attributes and "lifecycle_stage" not in li.attributes
    # a free-mail contact's company never becomes a "gmail.com" account
    ana = find_contact(store, "ana.lima@gmail.com", rules=RULES)
    assert ana.account is None
    with store.connect() as conn:
        assert "gmail.com" not in account_store.ids_by_domain(conn, ["gmail.com"])


def test_account_rules_fire_from_a_contacts_export_in_the_store_and_in_file_mode(
        store: Engine) -> None:
    ingest_file(store, HUBSPOT, "contacts", rules=RULES, now=NOW)
    model = load_model_file(MODEL_PATH)
    run = score_files(model, Inputs(HUBSPOT, None, None), at=NOW)
    by_email = {d.contact: d for d in run.decisions}
    # hand-computed with the example model: 200-5,000 employees 25, software 20, VP title
    # 20, a core-market country (US) 10
    explanation = explain_contact(model, Inputs(HUBSPOT, None, None), "jane@acme.example",
                                  at=NOW)
    assert _fit_rules(explanation) >= {"icp_company_size", "icp_industry", "core_market",
                                       "senior_title"}
    assert by_email["jane@acme.example"].scores["fit"] == pytest.approx(75.0)
    jane = find_contact(store, "jane@acme.example", rules=RULES)
    assert jane.scores is not None
    assert jane.scores["fit"] == pytest.approx(by_email["jane@acme.example"].scores["fit"])
    assert sorted(str(w.field) for w in run.warnings if "country" in str(w.field)) == [
        "account.country", "country"]


def test_an_imported_mql_keeps_its_stage_with_cause_import(store: Engine) -> None:
    ingest_file(store, HUBSPOT, "contacts", rules=RULES, now=NOW)
    with store.connect() as conn:
        rows = {str(e): (s, i) for i, e, s in conn.execute(
            contacts_table.select().with_only_columns(
                contacts_table.c.id, contacts_table.c.email, contacts_table.c.lifecycle_stage))}
        stage, cid = rows["jane@acme.example"]
        history = handoff_store.history(conn, cid)
        raj = handoff_store.history(conn, rows["raj@northwind.example"][1])
    # on the old code: stored raw, then `mql -> nurture, decay` in the import itself
    assert stage == "mql"
    assert [(h["from_stage"], h["to_stage"], h["cause"]) for h in history] == [
        (None, "mql", "import")]
    assert raj[0]["to_stage"] == "captured" and raj[0]["cause"] == "import"
    assert rows["li@acme.example"][0] in (None, "captured", "nurture")  # refused, not raw


def test_an_imported_mql_without_events_is_not_demoted_at_import(
        store: Engine, tmp_path: Path) -> None:
    """The reproduction of the issue: on the old code this export ended as `mql ->
    nurture, decay` in the import's own transaction."""
    path = tmp_path / "mqls.csv"
    path.write_text("Record ID,Email,Lifecycle Stage,Create Date\n"
                    "1,jo@initech.example,marketingqualifiedlead,2025-03-01T10:00:00Z\n"
                    "2,al@initech.example,opportunity,2025-03-01T10:00:00Z\n")
    summary = ingest_file(store, path, "contacts", rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined, summary.fields_dropped) == (2, 0, 0)
    with store.connect() as conn:
        got = {}
        for cid, email, stage in conn.execute(contacts_table.select().with_only_columns(
                contacts_table.c.id, contacts_table.c.email, contacts_table.c.lifecycle_stage)):
            moves = [(h["from_stage"], h["to_stage"], h["cause"], h["at"])
                     for h in handoff_store.history(conn, cid)]
            got[email] = (stage, moves)
    assert got == {
        "jo@initech.example": ("mql", [(None, "mql", "import", NOW)]),
        "al@initech.example": ("opportunity", [(None, "opportunity", "import", NOW)]),
    }


def test_a_dropped_field_is_retried_with_a_fixed_mapping(store: Engine, tmp_path: Path
                                                         ) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Lead ID,Email,Create Date\n00Q1,tom@initech.example,2025|14|03\n")
    ingest_file(store, path, "contacts", rules=RULES, now=NOW)
    [held] = quarantined(store)
    assert (held.row, held.field) == (2, "created_at") and "the row was kept" in held.reason
    assert retry_quarantined(store, None, rules=RULES, now=NOW).loaded == []  # still bad
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text("date_format: '%Y|%d|%m'\ncontacts:\n  columns:\n"
                     "    Lead ID: salesforce_id\n    Create Date: created_at\n")
    assert retry_quarantined(store, None, rules=RULES, now=NOW,
                             mapping=str(fixed)).loaded == [held.id]
    tom = find_contact(store, "tom@initech.example", rules=RULES)
    assert tom.attributes["created_at"] == "2025-03-14T00:00:00+00:00"
    assert quarantined(store) == []


def test_salesforce_leads_with_company_account_and_create_date(store: Engine) -> None:
    summary = ingest_file(store, SALESFORCE, "contacts", rules=RULES, now=NOW)
    assert (summary.mapping, summary.loaded, summary.quarantined) == ("salesforce", 2, 0)
    tom = find_contact(store, "tom@initech.example", rules=RULES)
    eva = find_contact(store, "eva@initech.example", rules=RULES)
    assert tom.attributes["created_at"] == "2025-03-14T00:00:00+00:00"
    assert eva.attributes["created_at"] == "2025-03-16T17:00:00+00:00"
    assert tom.attributes["salesforce_id"] == "00Q5e00001AbCdE"
    assert _account(store, "initech.example") == {
        "name": "Initech", "industry": "software", "employees": 250,
        "revenue": 25000000.0, "country": "GB"}
    events = ingest_file(store, EVENTS, "events", rules=RULES, now=NOW)
    assert (events.loaded, events.quarantined) == (2, 0)
    tom = find_contact(store, "tom@initech.example", rules=RULES)
    assert tom.scores is not None and tom.scores["scored_at"] >= datetime(
        2025, 3, 16, 16, tzinfo=UTC)


def _doc_example() -> tuple[str, str]:
    text = DOC.read_text()
    section = text[text.index("## Mapping files"):]
    yaml_block = re.search(r"```yaml\n(.*?)```", section, flags=re.S)
    csv_block = re.search(r"```csv\n(.*?)```", section, flags=re.S)
    assert yaml_block is not None and csv_block is not None
    return yaml_block[1], csv_block[1]


def test_the_mapping_file_of_the_docs_loads_its_export(store: Engine, tmp_path: Path) -> None:
    mapping, export = _doc_example()
    (tmp_path / "pipedrive.yaml").write_text(mapping)
    (tmp_path / "people.csv").write_text(export)
    summary = ingest_file(store, tmp_path / "people.csv", "contacts", rules=RULES, now=NOW,
                          mapping=tmp_path / "pipedrive.yaml")
    assert (summary.mapping, summary.loaded, summary.quarantined) == (
        str(tmp_path / "pipedrive.yaml"), 2, 0)
    ana = find_contact(store, "ana@globex.example", rules=RULES)
    assert ana.attributes["created_at"] == "2025-03-14T09:12:00+00:00"
    assert ana.attributes["external_id"] == "7" and ana.attributes["country"] == "DE"
    assert _account(store, "globex.example") == {
        "name": "Globex", "employees": 1001, "industry": "software", "country": "DE"}


# -- the command line: --mapping and the date options on every file command -------------


def test_cli_score_explain_and_ingest_take_a_mapping_file(tmp_path: Path) -> None:
    mapping, export = _doc_example()
    (tmp_path / "pipedrive.yaml").write_text(mapping)
    (tmp_path / "people.csv").write_text(export)
    files = ["--model", str(MODEL_PATH), "--contacts", str(tmp_path / "people.csv"),
             "--at", "2025-03-20T00:00Z", "--mapping", str(tmp_path / "pipedrive.yaml")]
    scored = runner.invoke(app, ["score", *files, "--format", "csv"])
    assert scored.exit_code == 0, scored.output
    assert "ana@globex.example" in scored.stdout
    explained = runner.invoke(app, ["explain", "ana@globex.example", *files])
    assert explained.exit_code == 0, explained.output
    assert "icp_company_size" in explained.stdout and "icp_industry" in explained.stdout
    db = f"sqlite:///{tmp_path / 'mql.db'}"
    assert runner.invoke(app, ["init", str(tmp_path / "ws"), "--db", db]).exit_code == 0
    ingested = runner.invoke(app, ["ingest", "contacts", str(tmp_path / "people.csv"),
                                   "--db", db, "--mapping", str(tmp_path / "pipedrive.yaml")])
    assert ingested.exit_code == 0, ingested.output
    assert "loaded" in ingested.stdout


def test_cli_refuses_an_ambiguous_file_and_reads_it_with_dayfirst(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Lead ID,Email,Title,Create Date\n1,ana@globex.example,CTO,03/04/2025\n")
    base = ["score", "--model", str(MODEL_PATH), "--contacts", str(path), "--at",
            "2025-05-01T00:00Z", "--format", "csv"]
    refused = runner.invoke(app, base)
    assert refused.exit_code == 2
    assert "created_at" in refused.stderr and "03/04/2025" in refused.stderr
    assert "--dayfirst" in refused.stderr and "Traceback" not in refused.output
    for flag in ("--dayfirst", "--monthfirst"):
        result = runner.invoke(app, [*base, flag])
        assert result.exit_code == 0, result.output
    explained = runner.invoke(app, ["explain", "ana@globex.example", "--model",
                                    str(MODEL_PATH), "--contacts", str(path),
                                    "--date-format", "%m/%d/%Y"])
    assert explained.exit_code == 0, explained.output


def test_cli_reports_a_bad_mapping_file_by_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("contacts:\n  columns:\n    Email: [7]\n")
    result = runner.invoke(app, ["score", "--model", str(MODEL_PATH), "--contacts",
                                 str(HUBSPOT), "--mapping", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3:12 contacts.columns.Email: must be an mql field name" in result.stderr


def test_cli_rescore_reads_crm_exports_and_epoch_events(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, [
        "rescore", "--model", str(MODEL_PATH), "--contacts", str(SALESFORCE), "--events",
        str(EVENTS), "--out", str(out), "--format", "csv", "--as-of", "2025-03-17T00:00Z",
        "--mapping", "salesforce"])
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()
    header = rows[0].split(",")
    got = {r.split(",")[header.index("contact")]: r.split(",") for r in rows[1:]}
    tom = got["tom@initech.example"]
    # the same fit as `mql score` of the same files: the account rules fired in DuckDB too
    run = score_files(load_model_file(MODEL_PATH), Inputs(SALESFORCE, None, EVENTS),
                      at=datetime(2025, 3, 17, tzinfo=UTC))
    decision = next(d for d in run.decisions if d.contact == "tom@initech.example")
    assert float(tom[header.index("fit")]) == pytest.approx(decision.scores["fit"])
    assert float(tom[header.index("intent")]) == pytest.approx(decision.scores["intent"])
    assert decision.scores["fit"] >= 25 + 20  # 250 employees, software


# -- contacts without an email, keyed by their CRM id ------------------------------------

NO_EMAIL = DATA / "salesforce-leads-no-email.csv"
BY_ID = DATA / "events-by-lead-id.csv"
KIM = "salesforce:00Q5e00001XyZaA"


def test_a_lead_export_without_emails_is_scored_by_lead_id_in_file_mode() -> None:
    model = load_model_file(MODEL_PATH)
    inputs = Inputs(NO_EMAIL, None, BY_ID)
    run = score_files(model, inputs, at=NOW)
    assert (run.rejected, sorted(d.contact for d in run.decisions)) == (
        [], [KIM, "salesforce:00Q5e00001XyZaB"])
    kim = next(d for d in run.decisions if d.contact == KIM)
    # the demo request named only the Lead ID and still counts (fast track); the company
    # columns put Umbrella's size and industry on the account named by its website
    assert kim.mql and any(r.kind == "fast_track" for r in kim.reasons)
    explanation = explain_contact(model, inputs, KIM, at=NOW)
    assert _fit_rules(explanation) >= {"icp_company_size", "icp_industry", "core_market"}
    assert explanation.decision.scores == kim.scores


def test_an_event_naming_a_crm_id_joins_the_contact_that_has_an_email(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("event_id,type,timestamp,salesforce_id\n"
                      "t1,demo_request,2025-03-16T10:00:00Z,00Q5e00001AbCdE\n")
    run = score_files(load_model_file(MODEL_PATH), Inputs(SALESFORCE, None, events), at=NOW)
    tom = next(d for d in run.decisions if d.contact == "tom@initech.example")
    assert tom.mql and any(r.kind == "fast_track" for r in tom.reasons)


def test_the_store_keys_contacts_without_email_by_crm_id_and_joins_events(
        store: Engine, tmp_path: Path) -> None:
    summary = ingest_file(store, NO_EMAIL, "contacts", rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined) == (2, 0)
    events = ingest_file(store, BY_ID, "events", rules=RULES, now=NOW)
    assert (events.loaded, events.quarantined) == (2, 0)
    kim = find_contact(store, KIM, rules=RULES)
    assert kim.email == KIM and kim.account == "umbrella.example"
    assert kim.scores is not None and kim.scores["mql"] is True
    # the same scores as the file mode: one computation
    run = score_files(load_model_file(MODEL_PATH), Inputs(NO_EMAIL, None, BY_ID), at=NOW)
    file_kim = next(d for d in run.decisions if d.contact == KIM)
    assert kim.scores["fit"] == pytest.approx(file_kim.scores["fit"])
    # a later export brings Kim's address: the same contact, now with an email
    later = tmp_path / "later.csv"
    later.write_text("Lead ID,Email,Title\n00Q5e00001XyZaA,kim@umbrella.example,CTO\n")
    again = ingest_file(store, later, "contacts", rules=RULES, now=NOW)
    assert (again.loaded, again.merges) == (1, 0)
    by_mail = find_contact(store, "kim@umbrella.example", rules=RULES)
    assert by_mail.id == kim.id and by_mail.email == "kim@umbrella.example"
    assert by_mail.attributes["title"] == "CTO"


def test_rescore_joins_events_by_crm_id_like_score(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, [
        "rescore", "--model", str(MODEL_PATH), "--contacts", str(NO_EMAIL), "--events",
        str(BY_ID), "--out", str(out), "--format", "csv", "--as-of", "2025-03-20T00:00Z"])
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()
    header = rows[0].split(",")
    got = {r.split(",")[header.index("contact")]: r.split(",") for r in rows[1:]}
    run = score_files(load_model_file(MODEL_PATH), Inputs(NO_EMAIL, None, BY_ID), at=NOW)
    for decision in run.decisions:
        row = got[decision.contact]
        assert float(row[header.index("intent")]) == pytest.approx(decision.scores["intent"])
        assert float(row[header.index("fit")]) == pytest.approx(decision.scores["fit"])
    assert run.decisions[0].scores["intent"] > 0
