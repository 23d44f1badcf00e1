"""`mql consent ...` and `mql privacy ...`: consent per lead, the suppression lists, the
leads held for compliance, and the data subject rights (docs/compliance.md).

Consent files load with `mql ingest consent FILE`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mql.cli.render import DbOpt, console, fail, store_settings
from mql.clock import SystemClock
from mql.errors import ConfigError, MQLError
from mql.ingest.consent import ConsentRow
from mql.ingest.formats import parse_time
from mql.service import consent as service
from mql.service import privacy
from mql.store.db import connect

CLOCK = SystemClock()
out = console()


def _time(value: str | None, name: str) -> Any:
    return CLOCK.now() if value is None else parse_time(value, source=name, row=0, field=name)


def register(app: typer.Typer) -> None:
    """Add the consent and privacy commands to `app`."""
    group = typer.Typer(help="Consent per lead as of a time, suppression lists, and the "
                        "hand-offs held for compliance (load files with `mql ingest "
                        "consent`).", no_args_is_help=True)
    app.add_typer(group, name="consent")
    rights = typer.Typer(help="Data subject rights: erase a person everywhere (GDPR Art. "
                         "17), export everything held about them (Art. 15/20).",
                         no_args_is_help=True)
    app.add_typer(rights, name="privacy")

    @group.command("show")
    def show(
        email: Annotated[str, typer.Argument(help="The contact's email.")],
        at: Annotated[str | None, typer.Option(help="As of this time (ISO 8601); default: "
                                               "now.")] = None,
        db: DbOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """May this lead be contacted, per channel, and why not: the jurisdiction, the
        consent state of each channel as of the time, whether its hand-off is held, and
        every consent record kept."""
        settings = store_settings(db)
        try:
            view = service.lead_consent(connect(settings.database_url), email,
                                        rules=settings.identity_rules(),
                                        at=_time(at, "--at"))
        except MQLError as exc:
            raise fail(exc) from None
        if as_json:
            out.print_json(json.dumps(view, default=str))
            return
        if not view["enforced"]:
            out.print("the live model has no consent: section; nothing is gated",
                      highlight=False)
        else:
            state = ("HELD for compliance: " + view["reason"] if view["held"]
                     else "may be handed off")
            out.print(f"{email} ({view['jurisdiction']}) as of {view['at']}: {state}",
                      highlight=False, soft_wrap=True)
            table = Table(title="channels", title_justify="left")
            for name in ("channel", "may contact", "status", "basis", "why"):
                table.add_column(name)
            for channel, c in view["channels"].items():
                table.add_row(channel, "yes" if c["allowed"] else "no", c["status"],
                              c["basis"] or "-", c["why"])
            out.print(table)
            if view["next_change"]:
                out.print(f"a consent lapses at {view['next_change']}", highlight=False)
        records = Table(title=f"{len(view['records'])} consent records", title_justify="left")
        for name in ("at", "channel", "status", "basis", "source", "expires"):
            records.add_column(name)
        for r in view["records"]:
            records.add_row(r["at"], r["channel"], r["status"], r["basis"] or "-",
                            r["source"] or "-", r["expires_at"] or "-")
        out.print(records)

    @group.command("record")
    def record(
        email: Annotated[str, typer.Argument(help="The contact's email.")],
        status: Annotated[str, typer.Option(help="granted, denied or withdrawn.")],
        channel: Annotated[str, typer.Option(
            help="email, phone, sms, ads, sales, or all (a global do-not-contact).")] = "email",
        basis: Annotated[str | None, typer.Option(
            help="consent, legitimate_interest, existing_business_relationship, "
                 "implied_inquiry, implied_purchase, none.")] = None,
        at: Annotated[str | None, typer.Option(help="When (ISO 8601); default: now.")] = None,
        by: Annotated[str, typer.Option("--by", help="Who recorded it.")] = "cli",
        db: DbOpt = None,
    ) -> None:
        """Record one consent change (kept as history; the same change twice is stored
        once)."""
        from mql.ingest.consent import consent_from_row

        settings = store_settings(db)
        try:
            when = _time(at, "--at")
            row: ConsentRow = consent_from_row(
                {"email": email, "status": status, "channel": channel, "basis": basis,
                 "at": when, "source": by}, source="cli", row=0)
            added = service.record_consent(connect(settings.database_url), [row],
                                           rules=settings.identity_rules(), now=CLOCK.now(),
                                           actor=by, source="cli")
        except MQLError as exc:
            raise fail(exc) from None
        again = "" if added else " (recorded already)"
        out.print(f"{row.email}: {row.channel} {row.status} ({row.basis}) at "
                  f"{row.at:%Y-%m-%d %H:%M}{again}", highlight=False)

    @group.command("holds")
    def holds(
        db: DbOpt = None,
        limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    ) -> None:
        """The MQLs held for compliance (no permitted hand-off channel) and why."""
        try:
            rows = service.holds(connect(store_settings(db).database_url), limit=limit)
        except MQLError as exc:
            raise fail(exc) from None
        table = Table(title=f"{len(rows)} hand-offs held for consent", title_justify="left")
        for name in ("at", "contact", "jurisdiction", "why"):
            table.add_column(name)
        for r in rows:
            table.add_row(str(r["at"]), str(r["email"] or f"contact {r['contact_id']}"),
                          str(r["jurisdiction"]), str(r["reason"]))
        out.print(table)

    @group.command("suppress")
    def suppress(
        kind: Annotated[str, typer.Argument(help="email, domain or account (its domain).")],
        values: Annotated[list[str], typer.Argument(help="The addresses or domains.")],
        reason: Annotated[str | None, typer.Option(help="Why (kept with the entry).")] = None,
        db: DbOpt = None,
    ) -> None:
        """Put addresses (kept only as SHA-256), domains or accounts on the suppression
        list: they always win over consent, on every channel."""
        try:
            added = service.suppress(connect(store_settings(db).database_url), kind, values,
                                     now=CLOCK.now(), reason=reason)
        except MQLError as exc:
            raise fail(exc) from None
        out.print(f"{added} added, {len(values) - added} listed already", highlight=False)

    @group.command("unsuppress")
    def unsuppress(
        kind: Annotated[str, typer.Argument(help="email, domain or account.")],
        value: Annotated[str, typer.Argument(help="The address or domain.")],
        db: DbOpt = None,
    ) -> None:
        """Take an entry off the suppression list."""
        try:
            gone = service.unsuppress(connect(store_settings(db).database_url), kind, value,
                                      now=CLOCK.now())
        except MQLError as exc:
            raise fail(exc) from None
        out.print("removed" if gone else "not on the list", highlight=False)

    @group.command("suppressions")
    def suppressions(db: DbOpt = None) -> None:
        """The suppression lists (email entries are hashes)."""
        try:
            rows = service.suppression_list(connect(store_settings(db).database_url))
        except MQLError as exc:
            raise fail(exc) from None
        table = Table(title=f"{len(rows)} suppression entries", title_justify="left")
        for name in ("kind", "value", "since", "reason"):
            table.add_column(name)
        for r in rows:
            table.add_row(r["kind"], r["value"], r["at"], r["reason"] or "-")
        out.print(table)

    @rights.command("erase")
    def erase(
        who: Annotated[str, typer.Argument(help="The person's email, or a contact id.")],
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask (scripts).")] = False,
        by: Annotated[str, typer.Option("--by", help="Who asked for it (audit).")] = "cli",
        db: DbOpt = None,
    ) -> None:
        """Erase a person from every table (contacts, identities, events, scores,
        lifecycle, consent, assignments, dispositions, quarantine, outbox and deliveries,
        merges, audit details, the inbox). The audit log keeps one line that an erasure
        happened (the address as SHA-256) and the address goes on the suppression list
        as a hash. Erasing again changes nothing."""
        if not yes and not typer.confirm(f"Erase {who} everywhere? This cannot be undone"):
            raise typer.Exit(code=1)
        settings = store_settings(db)
        try:
            done = privacy.erase(connect(settings.database_url), who,
                                 rules=settings.identity_rules(), now=CLOCK.now(), actor=by)
        except MQLError as exc:
            raise fail(exc) from None
        if not done["erased"]:
            out.print(f"{who}: nothing held (erased already)", highlight=False)
            return
        rows = ", ".join(f"{t} {n}" for t, n in sorted(done["rows"].items()))
        out.print(f"{who}: erased {done['contacts']} contact(s); rows removed: {rows}",
                  highlight=False, soft_wrap=True)

    @rights.command("retain")
    def retain(
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="Count what would be deleted; delete nothing.")] = False,
        by: Annotated[str, typer.Option("--by", help="Who ran it (audit).")] = "cli",
        db: DbOpt = None,
    ) -> None:
        """Delete the raw events (and the inbox's and quarantine's payloads about them)
        older than the retention the live model's `consent.retention` gives the
        contact's jurisdiction (e.g. {gdpr: 730d}); scores, transitions and assignments
        stay. The worker does the same hourly. Audited with the counts."""
        from mql.service import retention

        try:
            report = retention.retain(connect(store_settings(db).database_url),
                                      now=CLOCK.now(), dry_run=dry_run, actor=by)
        except MQLError as exc:
            raise fail(exc) from None
        if not report.configured:
            out.print("no retention: the live model's consent: section has no retention "
                      "(e.g. retention: {gdpr: 730d}); nothing deleted", highlight=False)
            return
        verb = "would delete" if dry_run else "deleted"
        table = Table(title=f"raw data past its retention ({verb})", title_justify="left")
        for col in ("jurisdiction", "kept", "before", "contacts", "events", "quarantine",
                    "inbox"):
            table.add_column(col)
        for name, r in sorted(report.by_jurisdiction.items()):
            table.add_row(name, f"{r.days} days", f"{r.before:%Y-%m-%d %H:%M}",
                          str(r.contacts), str(r.events), str(r.quarantine), str(r.inbox))
        out.print(table)
        out.print(f"{report.events} raw events {'would be ' if dry_run else ''}deleted; "
                  "scores and transitions kept", highlight=False)

    @rights.command("export")
    def export(
        who: Annotated[str, typer.Argument(help="The person's email, or a contact id.")],
        to: Annotated[Path | None, typer.Option(
            "--out", help="Write the JSON here (default: print it).")] = None,
        by: Annotated[str, typer.Option("--by", help="Who asked for it (audit).")] = "cli",
        db: DbOpt = None,
    ) -> None:
        """Everything held about a person as JSON, per table (data subject access)."""
        settings = store_settings(db)
        try:
            data = privacy.export(connect(settings.database_url), who,
                                  rules=settings.identity_rules(), now=CLOCK.now(), actor=by)
            text = json.dumps(data, indent=2, sort_keys=True)
            if to is not None:
                try:
                    to.write_text(text + "\n")
                except OSError as exc:
                    raise ConfigError(f"{to}: cannot write: {exc.strerror}") from None
        except MQLError as exc:
            raise fail(exc) from None
        if to is None:
            print(text)
        else:
            out.print(f"{sum(len(v) for v in data['tables'].values())} rows of "
                      f"{len(data['tables'])} tables written to {to}", highlight=False)
