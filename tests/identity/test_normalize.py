"""Email identity keys: one key for every way a person writes their address."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mql.identity.normalize import clean_email, email_key


@pytest.mark.parametrize(("written", "key"), [
    ("  Jane.Doe@ACME.com ", "jane.doe@acme.com"),
    ("jane.doe+webinar@acme.com", "jane.doe@acme.com"),
    ("j.a.n.e+x@gmail.com", "jane@gmail.com"),
    ("Jane.Doe@GoogleMail.com", "janedoe@gmail.com"),
    ("jane.doe@emea.acme.co.uk", "jane.doe@acme.co.uk"),
    ("jane.doe@outlook.com", "jane.doe@outlook.com"),  # dots matter outside Gmail
    ("+tag@acme.com", "+tag@acme.com"),  # nothing before the tag: kept as written
])
def test_the_ways_one_person_writes_an_address_share_a_key(written: str, key: str) -> None:
    assert email_key(written) == key


def test_free_mail_subdomains_are_not_collapsed() -> None:
    assert email_key("jane@mail.yahoo.co.jp") == "jane@mail.yahoo.co.jp"
    assert email_key("jane@emea.acme.com", collapse_subdomains=False) == "jane@emea.acme.com"


@pytest.mark.parametrize("bad", ["jane", "jane@acme", "ja ne@acme.com", "@acme.com", ""])
def test_text_that_is_no_address_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an email address"):
        clean_email(bad)


@given(st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8})?", fullmatch=True),
       st.sampled_from(["acme.com", "gmail.com", "acme.co.uk"]),
       st.from_regex(r"[a-z]{0,6}", fullmatch=True))
def test_keys_are_idempotent_and_ignore_case_and_tags(local: str, domain: str, tag: str) -> None:
    key = email_key(f"{local}@{domain}")
    assert email_key(key) == key
    assert email_key(f"{local.upper()}+{tag}@{domain.upper()}") == key
