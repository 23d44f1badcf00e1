"""CRM export headers: HubSpot and Salesforce columns mapped to mql's."""

from __future__ import annotations

import pytest

from mql.errors import ConfigError
from mql.ingest.formats import account_from_row, contact_from_row
from mql.ingest.mapping import detect, map_row


def test_hubspot_contacts_map_to_contact_fields() -> None:
    row = {"Record ID": "7", "Email": "Jane@Acme.com", "First Name": "Jane",
           "Job Title": "CTO", "Country/Region": "US", "Lifecycle Stage": "marketingqualifiedlead",
           "Lead Status": "Open", "Favourite colour": "blue"}
    assert detect(row, "contacts") == "hubspot"
    contact = contact_from_row(map_row(row, "contacts", "hubspot"), source="hs.csv", row=2)
    assert contact.email == "jane@acme.com" and contact.account == "acme.com"
    attrs = contact.attributes
    assert (attrs["title"], attrs["country"], attrs["lifecycle_stage"]) == ("CTO", "US", "mql")
    assert (attrs["hubspot_id"], attrs["lead_status"], attrs["Favourite colour"]) == (
        "7", "Open", "blue")


def test_hubspot_companies_and_salesforce_accounts_map_to_account_fields() -> None:
    hs = {"Company Domain Name": "www.Acme.com", "Name": "Acme", "Number of Employees": "1,200",
          "Annual Revenue": "5000000", "Industry": "software"}
    account = account_from_row(map_row(hs, "accounts", "hubspot"), source="c.csv", row=2)
    assert (account.domain, account.attributes["employees"]) == ("acme.com", 1200)
    sf = {"Account ID": "001X", "Account Name": "Globex", "Website": "https://globex.com/",
          "Employees": "40", "Billing Country": "DE"}
    assert detect(sf, "accounts") == "salesforce"
    account = account_from_row(map_row(sf, "accounts", "salesforce"), source="a.csv", row=2)
    assert (account.domain, account.attributes["country"]) == ("globex.com", "DE")


def test_salesforce_leads_are_detected() -> None:
    row = {"Lead ID": "00Q1", "Email": "a@b.com", "Company": "B", "Lead Source": "Web",
           "Lead Status": "Working"}
    assert detect(row, "contacts") == "salesforce"
    mapped = map_row(row, "contacts", "salesforce")
    assert mapped["salesforce_id"] == "00Q1" and mapped["source"] == "Web"


def test_unknown_mapping_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="auto, mql, hubspot, salesforce"):
        map_row({}, "contacts", "marketo")
