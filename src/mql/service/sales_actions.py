"""Sales actions of the HTTP API: accept, reject, convert, reassign a lead, within the
caller's scope. The moves themselves, with their audit lines in the same transaction, are
`mql.service.lifecycle`'s; `NotFound` and `TransitionRefused` come from there.

A seller's `Scope` limits them to the leads they own and the open leads of their team
(`Forbidden` otherwise); admins act on any lead (scope None).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from mql.errors import ConfigError, Forbidden, NotFound
from mql.identity.merge import IdentityRules
from mql.identity.normalize import clean_email
from mql.service import lifecycle
from mql.service import state as states
from mql.service.keys import Scope, list_keys
from mql.service.lifecycle import AssignmentView, TransitionView
from mql.service.resolve import find_by_email
from mql.store import handoff as handoff_store
from mql.store.db import translate_errors


def check_scope(engine: Engine, email: str, scope: Scope | None, identity: IdentityRules
                ) -> None:
    """Nothing when `scope` reaches the lead (or the lead does not exist: the action then
    says NotFound); `Forbidden` naming the owner and team otherwise."""
    if scope is None:
        return
    try:
        clean = clean_email(email)
    except ValueError:
        return
    with translate_errors("checking the lead's owner"), engine.connect() as conn:
        found = find_by_email(conn, [clean], identity)
        if clean not in found:
            return
        cid = found[clean]
        row = handoff_store.stages(conn, [cid]).get(cid)
        assignment = handoff_store.open_assignment(conn, cid)
    check_reach(email, scope, row.owner if row is not None else None,
                assignment["team"] if assignment is not None else None)


def check_reach(email: str, scope: Scope | None, owner: str | None, team: str | None
                ) -> None:
    """Nothing when `scope` reaches the lead `email` with this owner and open-assignment
    team (`reaches`); `Forbidden` naming the owner and team otherwise."""
    if reaches(scope, owner, team):
        return
    assert scope is not None
    raise Forbidden(f"{email} is owned by {owner or 'nobody'} (open assignment team "
                    f"{team or '-'}); a sales token acts on its own leads and its team's "
                    f"({scope.team or 'no team'}) open leads; an admin can reassign it")


def reaches(scope: Scope | None, owner: str | None, team: str | None) -> bool:
    """Whether `scope` reaches a lead with this owner and open-assignment team: the one
    visibility rule of the API's sales actions and the web pages (None: any lead).

    >>> seller = Scope("ana", "emea")
    >>> reaches(seller, "ana", None), reaches(seller, "bo", "emea"), reaches(seller, "bo", "na")
    (True, True, False)
    """
    if scope is None:
        return True
    return owner == scope.name or (scope.team is not None and team == scope.team)


def reachable(conn: Connection, scope: Scope | None, ids: Iterable[int] | None = None
              ) -> list[int] | None:
    """The contacts of `ids` (every live contact when None) that `scope` reaches, by id;
    None when `scope` is None (an admin's: every one). The rule is `reaches`, over the
    stored owner and the team of the newest untouched assignment."""
    if scope is None:
        return None if ids is None else sorted(set(ids))
    candidates = handoff_store.owned_or_assigned(conn, scope.name, scope.team)
    if ids is not None:
        wanted = set(ids)
        candidates = [cid for cid in candidates if cid in wanted]
    rows = handoff_store.stages(conn, candidates)
    open_ = handoff_store.open_assignments(conn, candidates)
    return [cid for cid in candidates
            if reaches(scope, rows[cid].owner if cid in rows else None,
                       (open_.get(cid) or {}).get("team"))]


def accept(engine: Engine, email: str, *, actor: str, now: datetime,
           identity: IdentityRules, scope: Scope | None = None) -> TransitionView:
    """Sales accepts the lead (MQL -> SAL); the stored transition."""
    check_scope(engine, email, scope, identity)
    done = lifecycle.accept(engine, email, actor=actor, now=now, identity=identity)
    return done


def reject(engine: Engine, email: str, *, reason: str, actor: str, now: datetime,
           identity: IdentityRules, scope: Scope | None = None) -> TransitionView:
    """Sales rejects the lead with one of the model's reasons; the stored transition."""
    check_scope(engine, email, scope, identity)
    done = lifecycle.reject(engine, email, reason=reason, actor=actor, now=now,
                            identity=identity)
    return done


def convert(engine: Engine, email: str, *, actor: str, now: datetime, reason: str | None,
            identity: IdentityRules, scope: Scope | None = None) -> TransitionView:
    """Sales moves the lead one step on (SAL -> SQL -> opportunity -> customer)."""
    check_scope(engine, email, scope, identity)
    done = lifecycle.convert(engine, email, actor=actor, now=now, reason=reason,
                             identity=identity)
    return done


def reassign(engine: Engine, email: str, *, owner: str, actor: str, now: datetime,
             identity: IdentityRules, scope: Scope | None = None) -> AssignmentView:
    """Give the lead to `owner`; the open assignment after the change. `NotFound` when
    `owner` is no one the lead could be given to (see `owners`)."""
    check_scope(engine, email, scope, identity)
    known = owners(engine)
    if owner not in known:
        shown = ", ".join(sorted(known)[:10]) or "none"
        raise NotFound(f"owner {owner!r}: no such seller; a lead goes to a member or manager "
                       "of a team of the live model's routing, or to the name of a live sales "
                       f"or admin token (known: {shown}"
                       f"{', ...' if len(known) > 10 else ''})")
    done = lifecycle.reassign(engine, email, owner=owner, actor=actor, now=now,
                              identity=identity)
    return done


def owners(engine: Engine) -> frozenset[str]:
    """Who may own a lead: the members and managers of the live model's routing teams, and
    the names of the live sales and admin tokens."""
    with translate_errors("reading the possible owners"), engine.connect() as conn:
        try:
            routing = states.live_model(conn).model.routing
        except ConfigError:  # no active model: only token holders
            routing = None
    people = {k.name for k in list_keys(engine) if k.role in ("sales", "admin")}
    if routing is not None:
        for team in routing.teams.values():
            people.update(m.name for m in team.members)
            if team.manager:
                people.add(team.manager)
    return frozenset(people)


def history(engine: Engine, email: str, *, identity: IdentityRules,
            scope: Scope | None = None) -> list[TransitionView]:
    """Every lifecycle transition of the lead, oldest first; `Forbidden` when `scope`
    does not reach the lead."""
    check_scope(engine, email, scope, identity)
    return lifecycle.history(engine, email, identity=identity)
