"""Lead rows from a synthetic world (`mql.synthetic`), the way the store would give them:
every contact handed to sales, at the moment of its first hand-off, with the touches
before it and whether the outcome followed (a SQL from that hand-off; an opportunity on
its account opened after it; that opportunity won). The bench and the tests learn from
these; the world's true drivers (`mql.synthetic.truth.TRUE_DRIVERS`) say what they
should find."""

from __future__ import annotations

from collections.abc import Iterable

from mql.learning.dataset import LeadRow, lead_touches
from mql.synthetic.outcomes import Disposition
from mql.synthetic.world import AccountSlice


def lead_rows(slices: Iterable[AccountSlice], *, outcome: str = "won",
              account_wide: bool = False) -> list[LeadRow]:
    """One row per contact with a hand-off (see the module). `account_wide`: every touch
    at the account before the moment (anonymous visitors', colleagues' and the lead's
    own) is also an `account:TYPE` touch, which is exactly what an account rule counts
    (`learn(..., account_wide=True)` may then weigh account page views)."""
    rows: list[LeadRow] = []
    for piece in slices:
        contacts = {c.email: c for c in piece.contacts}
        firsts: dict[str, Disposition] = {}
        for d in sorted(piece.dispositions, key=lambda d: d.handed_at):
            firsts.setdefault(d.email, d)
        for email, d in firsts.items():
            contact = contacts.get(email)
            if contact is None:
                continue
            at = d.handed_at
            if outcome == "sql":
                label = d.sql
            else:
                opened = [o for o in piece.opportunities if o.created_at >= at]
                label = bool(opened) if outcome == "opportunity" else any(
                    o.status == "won" for o in opened)
            attributes = {f"contact.{k}": v for k, v in contact.attributes.items()}
            attributes.update({f"account.{k}": v for k, v in piece.account.attributes.items()})
            attributes["contact.email_domain"] = contact.email_domain
            attributes["account.domain"] = piece.account.domain
            events = piece.clean_events
            touches = lead_touches(
                at, [(e.type, e.at, e.properties) for e in events if e.contact == email],
                [(e.type, e.at, e.properties) for e in events if e.contact is None],
                [(e.type, e.at) for e in events if e.contact is not None] if account_wide
                else ())
            rows.append(LeadRow(email, attributes, touches, label, at))
    return rows
