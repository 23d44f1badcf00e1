"""The account score: fit from the account's records and intent rolled up from its people,
committee-weighted, recency-aware and with diminishing returns, plus the account's own
events; explained by a ledger (person -> role -> weight -> decayed points) and a
coverage of the roles the model wants covered.

Each person's points are their intent score computed from their own events only
(``intent_value(score, person, EMPTY, t)``, exact decay as for the contact, never below
0); the account's own events (intent surges, visits resolved to the account) count once,
through the account's state. Per role, people are ranked by points; the k-th counts
``repeat**(k-1)`` times its points, times the role's weight:

>>> from datetime import UTC, datetime
>>> from mql.model.accounts import AccountScoring
>>> spec = AccountScoring(repeat=0.5)
>>> rolled(spec, [("user", 10.0)] * 10) < rolled(spec, [("decision_maker", 10.0)])
True
>>> rolled(spec, [("decision_maker", 10.0), ("decision_maker", 4.0), ("champion", 5.0)])
16.0

(10 interns at 10 points: 0.3 * 10 * (1 + 1/2 + ... + 1/512) = 5.99; one decision
maker: 1.0 * 10 = 10; two decision makers and a champion: 10 + 0.5 * 4 + 0.8 * 5 = 16.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mql.accounts.roles import RoleGuess, infer_role, role_words
from mql.model.accounts import DEFAULT_ACCOUNTS, ROLES, AccountScoring
from mql.model.spec import Model
from mql.records import Account, Contact, Event
from mql.scoring.fit import FitScorer
from mql.scoring.intent import IntentState, intent_value
from mql.scoring.scorer import Scorer

EMPTY = IntentState.empty()
_HORIZON = timedelta(days=365 * 3000)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Member:
    """A contact of the account as the account score reads it: record, role, own state."""

    contact: Contact
    guess: RoleGuess
    state: IntentState


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One line of the account's ledger. `contact` is None for the account's own events.
    `counted` = `weight` * `factor` * `points`; `rank` is the person's place in its role
    (1: the strongest), `factor` = repeat ** (rank - 1)."""

    contact: str | None
    title: str | None
    role: str | None
    source: str
    weight: float
    rank: int
    factor: float
    points: float
    counted: float
    engaged: bool
    last_touch: datetime | None


@dataclass(frozen=True, slots=True)
class Coverage:
    """The roles the model wants covered: engaged (a contact in the role is engaged),
    silent (known in the role, none engaged) and missing (nobody known in the role);
    `engaged_contacts` counts the engaged contacts of any role."""

    engaged: tuple[str, ...]
    silent: tuple[str, ...]
    missing: tuple[str, ...]
    engaged_contacts: int
    next_action: str

    @property
    def complete(self) -> bool:
        return not self.silent and not self.missing

    @property
    def gaps(self) -> tuple[str, ...]:
        """The roles to cover that have no engaged contact (silent or missing), in the
        model's order."""
        return tuple(r for r in ROLES if r in self.silent or r in self.missing)


@dataclass(frozen=True, slots=True)
class AccountScore:
    """An account's score at `at`: fit + intent = total, against the model's `line`
    (`below_at`: when the total falls below the line with no new events; None when it is
    below already, never falls, or the model has no line)."""

    domain: str
    at: datetime
    tier: str | None
    owner: str | None
    fit: float
    intent: float
    total: float
    line: float | None
    below_at: datetime | None
    ledger: tuple[LedgerLine, ...]
    coverage: Coverage

    @property
    def above_line(self) -> bool | None:
        return None if self.line is None else self.total >= self.line

    def engaged_within(self, days: float) -> int:
        """How many contacts are engaged and were active within the last `days` days (for
        rules such as "N engaged contacts within D days")."""
        since = self.at - timedelta(days=days)
        return sum(1 for x in self.ledger if x.contact is not None and x.engaged
                   and x.last_touch is not None and x.last_touch >= since)

    def covers(self, *roles: str) -> bool:
        """Whether every role given has an engaged contact."""
        return all(r in self.coverage.engaged for r in roles)


def person_points(spec: AccountScoring, model: Model, state: IntentState, at: datetime
                  ) -> float:
    """A person's decayed intent at `at` from its own events (never below 0)."""
    if not state.values:
        return 0.0
    return max(0.0, intent_value(model.scores[spec.intent_score], state, EMPTY, at))


def account_points(spec: AccountScoring, model: Model, state: IntentState, at: datetime
                   ) -> float:
    """The intent of the account's own events at `at` (never below 0)."""
    if not state.values:
        return 0.0
    return max(0.0, intent_value(model.scores[spec.intent_score], EMPTY, state, at))


def rolled(spec: AccountScoring, people: Iterable[tuple[str | None, float]],
           own: float = 0.0) -> float:
    """Account intent from (role, points) pairs and the account's own points: the one
    summation every face and the ledger use (roles in name order, people by points)."""
    by_role: dict[str, list[float]] = {}
    for role, points in people:
        by_role.setdefault(role or "", []).append(points)
    total = 0.0
    for role in sorted(by_role):
        weight = spec.weight(role or None)
        factor = 1.0
        for points in sorted(by_role[role], reverse=True):
            total += weight * factor * points
            factor *= spec.repeat
    total += spec.account_events * own
    return total if spec.intent_max is None else min(spec.intent_max, total)


def tier_of(model: Model, spec: AccountScoring, account: Account | None, domain: str
            ) -> str | None:
    """The ABM tier: the first target-account list of `accounts.tiers` holding the
    domain, else the account's `abm_tier` field."""
    lists = {n.name: n.values for n in model.lists}
    for name, tier in spec.tiers:
        if domain.lower() in lists.get(name, frozenset()):
            return tier
    value = account.attributes.get("abm_tier") if account is not None else None
    return None if value in (None, "") else str(value)


def score_account(model: Model, domain: str, account: Account | None,
                  members: Sequence[Member], account_state: IntentState, at: datetime,
                  spec: AccountScoring | None = None, *, crossing: bool = True
                  ) -> AccountScore:
    """The account score of `domain` at `at` from its records and states; with
    `crossing`, also when it falls below the model's line (`below_at`)."""
    spec = spec or model.accounts or DEFAULT_ACCOUNTS
    fit = FitScorer(spec.fit)(None, account).value if spec.fit is not None else 0.0
    since = at - timedelta(days=spec.engaged.within_days)
    points = [person_points(spec, model, m.state, at) for m in members]
    own = account_points(spec, model, account_state, at)
    ledger = _ledger(spec, members, points, own, account_state, since)
    intent = rolled(spec, [(m.guess.role, p) for m, p in zip(members, points, strict=True)],
                    own)
    total = fit + intent
    below = None
    if crossing and spec.line is not None and total >= spec.line:
        def value(t: datetime) -> float:
            return fit + rolled(spec, [(m.guess.role, person_points(spec, model, m.state, t))
                                       for m in members],
                                account_points(spec, model, account_state, t))
        below = first_below(value, spec.line, at)
    owner = account.attributes.get("owner") if account is not None else None
    return AccountScore(domain, at, tier_of(model, spec, account, domain),
                        None if owner in (None, "") else str(owner), fit, intent, total,
                        spec.line, below, ledger, coverage(spec, ledger))


def _ledger(spec: AccountScoring, members: Sequence[Member], points: Sequence[float],
            own: float, account_state: IntentState, since: datetime
            ) -> tuple[LedgerLine, ...]:
    ranked = sorted(zip(members, points, strict=True),
                    key=lambda mp: (mp[0].guess.role or "", -mp[1], mp[0].contact.email))
    lines: list[LedgerLine] = []
    rank, last_role = 0, object()
    for m, p in ranked:
        rank = rank + 1 if m.guess.role == last_role else 1
        last_role = m.guess.role
        weight, factor = spec.weight(m.guess.role), spec.repeat ** (rank - 1)
        touch = m.state.as_of
        engaged = p >= spec.engaged.intent and p > 0 and touch is not None and touch >= since
        title = m.contact.attributes.get("title")
        lines.append(LedgerLine(m.contact.email, None if title in (None, "") else
                                str(title).strip(), m.guess.role, m.guess.source, weight,
                                rank, factor, p, weight * factor * p, engaged, touch))
    lines.sort(key=lambda x: (-x.counted, x.contact or ""))
    if account_state.values:
        lines.append(LedgerLine(None, None, None, "account events", spec.account_events, 1,
                                1.0, own, spec.account_events * own, False,
                                account_state.as_of))
    return tuple(lines)


def coverage(spec: AccountScoring, ledger: Sequence[LedgerLine]) -> Coverage:
    """Which of the roles to cover are engaged, known but silent, or missing, and the
    next action in words ("no economic buyer known; the champion is Director of IT")."""
    people = [x for x in ledger if x.contact is not None]
    engaged = tuple(r for r in spec.cover if any(x.role == r and x.engaged for x in people))
    known = {x.role for x in people}
    silent = tuple(r for r in spec.cover if r in known and r not in engaged)
    missing = tuple(r for r in spec.cover if r not in known)
    parts = []
    for role in spec.cover:
        if role in silent:
            who = next(x for x in people if x.role == role)
            parts.append(f"no {role_words(role)} engaged ({who.title or who.contact} is "
                         "known but silent)")
        elif role in missing:
            parts.append(f"no {role_words(role)} known")
    for role in engaged:
        who = next(x for x in people if x.role == role and x.engaged)
        parts.append(f"the {role_words(role)} is {who.title or who.contact}")
    if not spec.cover:
        words = "no roles to cover"
    elif not silent and not missing:
        words = "every role covered: " + "; ".join(parts)
    else:
        words = "; ".join(parts)
    return Coverage(engaged, silent, missing, sum(1 for x in people if x.engaged), words)


def first_below(value: Callable[[datetime], float], line: float, start: datetime
                ) -> datetime | None:
    """The first moment from `start` on when `value` is under `line`, to the microsecond,
    for a score that does not rise without new events (decay and closing windows only
    lower it); None when it stays at or above the line.

    >>> from datetime import UTC, datetime
    >>> t0 = datetime(2026, 3, 1, tzinfo=UTC)
    >>> ten_days = 10 * 86400
    >>> def value(t): return 40 * 2 ** (-(t - t0).total_seconds() / ten_days)
    >>> first_below(value, 10, t0)  # 40 -> 10 in two half-lives: 20 days
    datetime.datetime(2026, 3, 21, 0, 0, 0, 1, tzinfo=datetime.timezone.utc)
    """
    if value(start) < line:
        return start
    step = timedelta(hours=1)
    lo = start
    hi = start + step
    while value(hi) >= line:
        lo = hi
        step *= 2
        if step > _HORIZON:
            return None
        hi = start + step
    while hi - lo > _MICROSECOND:
        mid = lo + (hi - lo) / 2
        if value(mid) < line:
            hi = mid
        else:
            lo = mid
    return hi


class AccountBook:
    """Streaming account scores: an event updates its contact's state and (account-level
    events) its account's state in O(1) (`mql.scoring.scorer.Scorer`), and the account
    knows its members by an index kept as contacts arrive, so nothing is rescanned; a score
    reads the account's members' states.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self.scorer = Scorer(model)
        self.members: dict[str, dict[str, None]] = {}

    def add_account(self, account: Account) -> None:
        self.scorer.add_account(account)

    def add_contact(self, contact: Contact) -> None:
        old = self.scorer.contacts.get(contact.email)
        if old is not None and old.account:
            self.members.get(old.account, {}).pop(contact.email, None)
        self.scorer.add_contact(contact)
        if contact.account:
            self.members.setdefault(contact.account, {})[contact.email] = None

    def add(self, event: Event, *, until: datetime | None = None) -> bool:
        return self.scorer.add(event, until=until)

    def domains(self) -> list[str]:
        """Every account known by a record, a contact or an account-level state."""
        return sorted(set(self.scorer.accounts) | set(self.members)
                      | set(self.scorer.account_states))

    def score(self, domain: str, at: datetime, *, crossing: bool = True) -> AccountScore:
        """The account's score at `at` from the states as they are now."""
        table = (self.model.accounts or DEFAULT_ACCOUNTS).roles
        account = self.scorer.accounts.get(domain)
        contacts = [self.scorer.contacts[email] for email in self.members.get(domain, {})]
        members = [Member(c, infer_role(c, account, table),
                          self.scorer.contact_states.get(c.email, EMPTY)) for c in contacts]
        return score_account(self.model, domain, account, members,
                             self.scorer.account_states.get(domain, EMPTY), at,
                             crossing=crossing)


def score_accounts(model: Model, contacts: Iterable[Contact], accounts: Iterable[Account],
                   events: Iterable[Event], *, at: datetime) -> dict[str, AccountScore]:
    """Every account's score at `at` from records and events up to `at` (the account
    counterpart of `mql.scoring.scorer.score`)."""
    book = AccountBook(model)
    for a in accounts:
        book.add_account(a)
    for c in contacts:
        book.add_contact(c)
    for e in events:
        book.add(e, until=at)
    return {d: book.score(d, at) for d in book.domains()}
