"""CRM export headers and values: mapping files, the built-in HubSpot and Salesforce
mappings (written in the same format), dates, countries, industries and employee ranges."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.errors import ConfigError, InputError
from mql.ingest.formats import DateStyle, country_code, parse_number, parse_time
from mql.ingest.mapping import (
    Reader,
    builtin,
    detect,
    load_mapping,
    map_row,
    parse,
    parse_mapping,
    resolve,
)
from mql.records import Account, Contact, Event

DATA = Path(__file__).parent / "data"
HUBSPOT = builtin("hubspot")
SALESFORCE = builtin("salesforce")


def _contact(row: dict[str, str], mapping: str = "hubspot") -> tuple[Contact, Account | None,
                                                                     list[InputError]]:
    parsed = parse(row, "contacts", builtin(mapping), source="hs.csv", number=2)
    assert isinstance(parsed.record, Contact)
    return parsed.record, parsed.company, list(parsed.warnings)


def test_hubspot_contacts_map_to_contact_fields() -> None:
    row = {"Record ID": "7", "Email": "Jane@Acme.com", "First Name": "Jane",
           "Job Title": "CTO", "Country/Region": "US", "Lifecycle Stage": "marketingqualifiedlead",
           "Lead Status": "Open", "Favourite colour": "blue"}
    assert detect(row, "contacts") is HUBSPOT
    contact, _, warnings = _contact(row)
    assert contact.email == "jane@acme.com" and contact.account == "acme.com"
    attrs = contact.attributes
    assert (attrs["title"], attrs["country"], attrs["lifecycle_stage"]) == ("CTO", "US", "mql")
    assert (attrs["hubspot_id"], attrs["lead_status"], attrs["Favourite colour"]) == (
        "7", "Open", "blue")
    assert warnings == []


def test_hubspot_companies_and_salesforce_accounts_map_to_account_fields() -> None:
    hs = {"Company Domain Name": "www.Acme.com", "Name": "Acme", "Number of Employees": "1,200",
          "Annual Revenue": "5000000", "Industry": "COMPUTER_SOFTWARE"}
    account = parse(hs, "accounts", HUBSPOT, source="c.csv", number=2).record
    assert isinstance(account, Account)
    assert (account.domain, account.attributes["employees"]) == ("acme.com", 1200)
    assert account.attributes["industry"] == "software"
    sf = {"Account ID": "001X", "Account Name": "Globex", "Website": "https://globex.com/",
          "Employees": "40", "Billing Country": "Germany"}
    assert detect(sf, "accounts") is SALESFORCE
    account = parse(sf, "accounts", SALESFORCE, source="a.csv", number=2).record
    assert isinstance(account, Account)
    assert (account.domain, account.attributes["country"]) == ("globex.com", "DE")


def test_salesforce_leads_are_detected() -> None:
    row = {"Lead ID": "00Q1", "Email": "a@b.com", "Company / Account": "B", "Lead Source": "Web",
           "Lead Status": "Working", "Create Date": "3/14/2025"}
    assert detect(row, "contacts") is SALESFORCE
    mapped = map_row(row, "contacts", SALESFORCE)
    assert mapped["salesforce_id"] == "00Q1" and mapped["source"] == "Web"
    assert mapped["company"] == "B" and mapped["account.name"] == "B"
    contact, company, _ = _contact(row, "salesforce")
    assert contact.attributes["created_at"] == datetime(2025, 3, 14, tzinfo=UTC)
    assert company == Account("b.com", {"name": "B"})


def test_unknown_mapping_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="auto, mql, hubspot, salesforce"):
        resolve("marketo")


# -- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("14.03.2025 09:12", datetime(2025, 3, 14, 9, 12, tzinfo=UTC)),
    ("03/16/2025 05:00 PM", datetime(2025, 3, 16, 17, 0, tzinfo=UTC)),
    ("03/16/2025 12:30 AM", datetime(2025, 3, 16, 0, 30, tzinfo=UTC)),
    ("3/14/2025", datetime(2025, 3, 14, tzinfo=UTC)),
    ("14/3/2025 18:05", datetime(2025, 3, 14, 18, 5, tzinfo=UTC)),
    ("2025/03/14 09:12:30", datetime(2025, 3, 14, 9, 12, 30, tzinfo=UTC)),
    ("1741943520000", datetime(2025, 3, 14, 9, 12, tzinfo=UTC)),  # epoch milliseconds
    ("1741943520", datetime(2025, 3, 14, 9, 12, tzinfo=UTC)),  # epoch seconds
    ("2025-03-14 09:12", datetime(2025, 3, 14, 9, 12, tzinfo=UTC)),
    ("3/3/2025", datetime(2025, 3, 3, tzinfo=UTC)),  # both orders agree
])
def test_crm_export_dates_are_read(text: str, expected: datetime) -> None:
    assert parse_time(text, source="f.csv", row=2, field="created_at") == expected


def test_epoch_numbers_from_json_and_parquet_are_read() -> None:
    expected = datetime(2025, 3, 14, 9, 12, tzinfo=UTC)
    assert parse_time(1741943520000, source="f", row=1, field="t") == expected
    assert parse_time(1741943520, source="f", row=1, field="t") == expected
    assert parse_time(1741943520.0, source="f", row=1, field="t") == expected


def test_an_ambiguous_slash_date_needs_a_day_order() -> None:
    with pytest.raises(InputError, match="--dayfirst or --monthfirst"):
        parse_time("03/04/2025", source="f.csv", row=2, field="created_at")
    day = parse_time("03/04/2025", source="f.csv", row=2, field="created_at",
                     style=DateStyle(dayfirst=True))
    month = parse_time("03/04/2025", source="f.csv", row=2, field="created_at",
                       style=DateStyle(dayfirst=False))
    assert (day.month, day.day, month.month, month.day) == (4, 3, 3, 4)
    explicit = parse_time("2025|14|03", source="f", row=2, field="t",
                          style=DateStyle(format="%Y|%d|%m"))
    assert explicit == datetime(2025, 3, 14, tzinfo=UTC)


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text(text)
    return path


def test_an_ambiguous_file_is_decided_by_its_other_dates(tmp_path: Path) -> None:
    # row 2 is ambiguous, row 3 can only be day first: the file is day first
    path = _file(tmp_path, "Lead ID,Email,Create Date\n1,a@b.com,03/04/2025\n"
                           "2,c@b.com,25/04/2025\n")
    got = [item.record.attributes["created_at"] for _, item in
           Reader(path, "contacts", None).records()]  # type: ignore[union-attr]
    assert got == [datetime(2025, 4, 3, tzinfo=UTC), datetime(2025, 4, 25, tzinfo=UTC)]


def test_an_ambiguous_file_nothing_decides_is_refused_naming_column_and_example(
        tmp_path: Path) -> None:
    path = _file(tmp_path, "Lead ID,Email,Create Date\n1,a@b.com,03/04/2025\n"
                           "2,c@b.com,05/06/2025\n")
    with pytest.raises(ConfigError, match=r"leads.csv:2 created_at: .*'03/04/2025'.*"
                                          r"--dayfirst"):
        list(Reader(path, "contacts", None).records())
    got = [item.record.attributes["created_at"] for _, item in
           Reader(path, "contacts", None, dayfirst=False).records()]  # type: ignore[union-attr]
    assert got == [datetime(2025, 3, 4, tzinfo=UTC), datetime(2025, 5, 6, tzinfo=UTC)]


def test_a_file_with_both_day_orders_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, "Lead ID,Email,Create Date\n1,a@b.com,03/04/2025\n"
                           "2,c@b.com,25/04/2025\n3,d@b.com,04/25/2025\n")
    with pytest.raises(ConfigError, match=r"day first .* and month first"):
        list(Reader(path, "contacts", None).records())


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 12, 31)),
       st.booleans())
def test_slash_dates_read_back_in_the_order_given(moment: datetime, dayfirst: bool) -> None:
    moment = moment.replace(second=0, microsecond=0)
    text = moment.strftime("%d/%m/%Y %H:%M" if dayfirst else "%m/%d/%Y %I:%M %p")
    got = parse_time(text, source="f", row=1, field="t", style=DateStyle(dayfirst=dayfirst))
    assert got == moment.replace(tzinfo=UTC)


# -- values -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "code"), [
    ("Germany", "DE"), ("germany", "DE"), ("DE", "DE"), ("DEU", "DE"), ("United States", "US"),
    ("USA", "US"), ("United Kingdom", "GB"), ("UK", "GB"), ("South Korea", "KR"),
    ("Russia", "RU"), ("The Netherlands", "NL"), ("Atlantis", None), ("Korea", None),
])
def test_country_names_become_iso_codes(text: str, code: str | None) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize(("text", "number"), [
    ("5000+", 5000), ("1,001-5,000", 1001), ("51-200", 51), ("10,001+", 10001), ("250", 250),
    ("1 200", 1200), ("1.5k", 1500),
])
def test_employee_ranges_read_as_their_lower_bound(text: str, number: int) -> None:
    assert parse_number(text, integer=True) == number


def test_revenue_with_currency_and_suffix() -> None:
    assert parse_number("$5,000,000") == 5e6 and parse_number("€2.5M") == 2.5e6


def test_hubspot_industry_enums_become_the_model_vocabulary() -> None:
    row = {"Email": "a@acme.com", "Company Name": "Acme", "Industry": "COMPUTER_SOFTWARE",
           "Number of Employees": "1,001-5,000"}
    _, company, _ = _contact(row)
    assert company == Account("acme.com", {"name": "Acme", "industry": "software",
                                           "employees": 1001})
    # a word of the vocabulary written another way is the vocabulary's word
    _, company, _ = _contact({**row, "Industry": "Financial Services"})
    assert company is not None and company.attributes["industry"] == "financial_services"


def test_an_unreadable_optional_field_is_dropped_and_the_row_kept() -> None:
    row = {"Record ID": "9", "Email": "a@acme.com", "Create Date": "last tuesday",
           "Country/Region": "Atlantis", "Lifecycle Stage": "interested",
           "Number of Employees": "lots"}
    contact, _, warnings = _contact(row)
    assert contact.email == "a@acme.com" and contact.attributes["hubspot_id"] == "9"
    assert "created_at" not in contact.attributes and "country" not in contact.attributes
    assert "lifecycle_stage" not in contact.attributes
    fields = sorted(w.field or "" for w in warnings)
    assert fields == ["account.country", "account.employees", "country", "created_at",
                      "lifecycle_stage"]
    assert all(w.source == "hs.csv" and w.row == 2 and "the row was kept" in w.reason
               for w in warnings)
    stage = next(w for w in warnings if w.field == "lifecycle_stage")
    assert "'interested' is not a stage mql knows" in stage.reason


@pytest.mark.parametrize(("hubspot", "stage"), [
    ("subscriber", "captured"), ("lead", "captured"), ("marketingqualifiedlead", "mql"),
    ("salesqualifiedlead", "sql"), ("opportunity", "opportunity"), ("customer", "customer"),
    ("evangelist", "customer"), ("other", "captured"), ("Marketing Qualified Lead", "mql"),
])
def test_hubspot_lifecycle_stages_map_to_mql_stages(hubspot: str, stage: str) -> None:
    contact, _, warnings = _contact({"Email": "a@acme.com", "Lifecycle Stage": hubspot})
    assert contact.attributes["lifecycle_stage"] == stage and warnings == []


def test_a_company_website_names_the_contacts_account() -> None:
    contact, company, _ = _contact({"Email": "ana@gmail.com", "Company Name": "Globex",
                                    "Website URL": "https://www.globex.example/about"})
    assert contact.account == "globex.example"
    assert company == Account("globex.example", {"name": "Globex"})


def test_events_keep_mqls_layout_with_epoch_times() -> None:
    row = {"event_id": "e1", "type": "demo_request", "timestamp": "1741943520000",
           "email": "a@acme.com"}
    event = parse(row, "events", detect(row, "events"), source="e.csv", number=2).record
    assert isinstance(event, Event) and event.at == datetime(2025, 3, 14, 9, 12, tzinfo=UTC)


# -- mapping files ----------------------------------------------------------------------


def test_the_builtin_mappings_are_mapping_files() -> None:
    for name in ("hubspot", "salesforce"):
        path = Path(__file__).parents[2] / "src" / "mql" / "ingest" / "mappings" / f"{name}.yaml"
        assert load_mapping(path).sections == builtin(name).sections


def test_a_mapping_file_maps_columns_values_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text("name: crm\ndate_format: '%d-%m-%Y'\ncontacts:\n  columns:\n"
                    "    Lead Number: external_id\n    E-Mail: email\n"
                    "    Signed up: created_at\n    Status: lifecycle_stage\n"
                    "    Firm: [company, account.name]\n    Headcount: account.employees\n"
                    "  values:\n    lifecycle_stage: {Hot: mql, Cold: nurture}\n")
    mapping = resolve(str(path))
    assert mapping is not None and mapping.name == "crm"
    parsed = parse({"Lead Number": "L-1", "E-Mail": "ana@globex.example", "Signed up":
                    "14-03-2025", "Status": "hot", "Firm": "Globex", "Headcount": "51-200"},
                   "contacts", mapping, source="x.csv", number=2)
    assert isinstance(parsed.record, Contact)
    attrs = parsed.record.attributes
    assert (attrs["external_id"], attrs["lifecycle_stage"], attrs["created_at"]) == (
        "L-1", "mql", datetime(2025, 3, 14, tzinfo=UTC))
    assert parsed.company == Account("globex.example", {"name": "Globex", "employees": 51})


def test_mapping_file_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\n"
                    "contacts:\n"
                    "  columns:\n"
                    "    Email: email\n"
                    "    Size: [12]\n"
                    "  colour: red\n"
                    "accounts:\n"
                    "  columns:\n"
                    "    Size: account.employees\n"
                    "dayfirst: maybe\n"
                    "date_format: '%H:%M'\n")
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    assert str(info.value).splitlines() == [
        f"{path}:5:11 contacts.columns.Size: must be an mql field name or a list of them",
        f"{path}:6:3 contacts.colour: unknown key (expected one of: columns, values)",
        f"{path}:9:11 accounts.columns.Size: 'account.employees': account.<field> is only "
        "for the company columns of contacts",
        f"{path}:10:11 dayfirst: must be true or false",
        f"{path}:11:14 date_format: '%H:%M' is not a strptime format with a year, month and "
        "day (e.g. '%d.%m.%Y %H:%M')",
    ]


def test_a_mapping_file_that_is_not_yaml_or_missing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such mapping file"):
        load_mapping(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"x.yaml:3:1 not valid YAML"):
        parse_mapping("contacts:\n  columns: [\n", source="x.yaml")
    with pytest.raises(ConfigError, match=r"x.yaml:2:1 events: duplicate key"):
        parse_mapping("events: {}\nevents: {}\n", source="x.yaml")


_OPTIONAL = ("Create Date", "Country/Region", "Number of Employees", "Annual Revenue",
             "Lifecycle Stage", "Industry", "Job Title")
_FIELD = {"Create Date": "created_at", "Country/Region": "country",
          "Number of Employees": "employees", "Annual Revenue": "revenue",
          "Lifecycle Stage": "lifecycle_stage", "Industry": "industry", "Job Title": "title"}


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(_OPTIONAL),
                       st.one_of(st.text(max_size=20), st.sampled_from(
                           ["14.03.2025 09:12", "5000+", "Germany", "lead", "n/a", "31.02.2025",
                            "1e400", "-", "NaN", "03/04/2025", "99/99/9999", "$", "∞"]))))
def test_optional_fields_never_cost_a_contact_its_row(values: dict[str, str]) -> None:
    """For any values of the optional columns, the contact lands; each column either
    reads or is dropped with a reason naming it (never both, never silently)."""
    row = {"Record ID": "1", "Email": "jane@acme.example", "Company Name": "Acme", **values}
    try:
        parsed = parse(row, "contacts", HUBSPOT, source="hs.csv", number=2,
                       style=DateStyle(dayfirst=True))
    except InputError as exc:  # pragma: no cover - the property fails here
        raise AssertionError(f"the row was refused: {exc}") from None
    assert isinstance(parsed.record, Contact) and parsed.record.email == "jane@acme.example"
    dropped = {(w.field or "").removeprefix("account.") for w in parsed.warnings}
    assert all("the row was kept" in w.reason and w.row == 2 for w in parsed.warnings)
    for header, text in values.items():
        name = _FIELD[header]
        on_contact = parsed.record.attributes.get(name) is not None
        on_account = parsed.company is not None and \
            parsed.company.attributes.get(name) is not None
        readable = on_contact or on_account
        if not text.strip():
            assert not readable and name not in dropped
        else:
            assert readable != (name in dropped)
