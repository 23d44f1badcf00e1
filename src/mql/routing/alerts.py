"""Account engagement alerts: when several contacts of one account engage within a window,
the account owner is alerted once, not once per contact.

`AccountAlerts` is a value: `observe` folds in one engaged contact and says whether this
is the moment to alert; later engagement inside the quiet period does not alert again.

>>> from datetime import datetime, timedelta, timezone
>>> t = datetime(2026, 3, 2, tzinfo=timezone.utc)
>>> alerts = AccountAlerts(min_contacts=3, window=timedelta(days=7), quiet=timedelta(days=30))
>>> fired = []
>>> for i, who in enumerate(["ana", "ben", "ben", "cy", "dee"]):
...     alerts, alert = alerts.observe("acme.example", who, t + timedelta(hours=i))
...     fired.append(alert is not None)
>>> fired
[False, False, False, True, False]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Alert:
    account: str
    contacts: tuple[str, ...]
    at: datetime


def check(account: str, engaged: Mapping[str, datetime], last_alert: datetime | None,
          at: datetime, *, min_contacts: int, window: timedelta,
          quiet: timedelta) -> Alert | None:
    """The alert due now for `account`, given when each contact last engaged and when the
    owner was last alerted (None: no alert)."""
    recent = sorted(c for c, t in engaged.items() if at - t < window)
    if len(recent) < min_contacts or (last_alert is not None and at - last_alert < quiet):
        return None
    return Alert(account, tuple(recent), at)


@dataclass(frozen=True, slots=True)
class AccountAlerts:
    """Recent engagement per account and when each account was last alerted."""

    min_contacts: int = 3
    window: timedelta = timedelta(days=7)
    quiet: timedelta = timedelta(days=30)
    recent: Mapping[str, Mapping[str, datetime]] = field(
        default_factory=lambda: MappingProxyType({}))
    last_alert: Mapping[str, datetime] = field(default_factory=lambda: MappingProxyType({}))

    def observe(
        self, account: str, contact: str, at: datetime
    ) -> tuple[AccountAlerts, Alert | None]:
        """Record that `contact` of `account` engaged at `at`; an `Alert` when this makes
        `min_contacts` distinct contacts within `window` and the account is not in its
        quiet period."""
        seen = {c: t for c, t in self.recent.get(account, {}).items() if at - t < self.window}
        seen[contact] = max(at, seen.get(contact, at))
        recent = {**self.recent, account: MappingProxyType(seen)}
        state = replace(self, recent=MappingProxyType(recent))
        alert = check(account, seen, self.last_alert.get(account), at,
                      min_contacts=self.min_contacts, window=self.window, quiet=self.quiet)
        if alert is not None:
            alerted = {**self.last_alert, account: at}
            state = replace(state, last_alert=MappingProxyType(alerted))
        return state, alert
