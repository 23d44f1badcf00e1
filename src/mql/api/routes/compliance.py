"""Consent and privacy (issue 17): a lead's consent as of now and why a hand-off is
held, consent changes from other systems, and the data subject rights (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from mql.api.deps import ConsentWriter, PrivacyAdmin, Reader, State
from mql.api.guard import GuardedRoute
from mql.api.schemas import ERRORS
from mql.ingest.consent import consent_from_row
from mql.service import consent as service
from mql.service import privacy

router = APIRouter(route_class=GuardedRoute, tags=["consent"], responses=ERRORS)
ContactId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the contact id")]


class ConsentIn(BaseModel):
    """One consent change (docs/compliance.md): the fields of a `consent.csv` row."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    status: str = Field(max_length=40, description="granted, denied or withdrawn")
    channel: str = Field("email", max_length=40,
                         description="email, phone, sms, ads, sales or all")
    basis: str | None = Field(None, max_length=100, description="the legal basis")
    purpose: str | None = Field(None, max_length=40)
    at: datetime | None = Field(None, description="when; default: now")
    expires_at: datetime | None = None
    evidence: dict[str, Any] | None = Field(None, description="form id, IP, text version")


class ConsentBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: list[ConsentIn] = Field(min_length=1, max_length=1000)


class ConsentSavedOut(BaseModel):
    stored: int = Field(description="changes new to the store (a repeat is stored once)")


@router.get("/v1/leads/{lead}/consent", summary="A lead's consent now, and why it is held")
async def lead_consent(lead: str, state: State, _: Reader) -> dict[str, Any]:
    """Per channel: may the lead be contacted now, its consent state and why not; the
    jurisdiction; whether its hand-off is held for compliance, with the reason; and every
    consent record kept."""
    return await run_in_threadpool(service.lead_consent, state.engine, lead,
                                   rules=state.settings.identity_rules(),
                                   at=state.clock.now())


@router.post("/v1/consent", summary="Record consent changes")
async def record(body: ConsentBatchIn, state: State, key: ConsentWriter) -> ConsentSavedOut:
    """Store consent changes (kept as history); a row of an unknown contact is a 404,
    a bad value a 422 naming the field."""
    now = state.clock.now()
    rows = [consent_from_row({**c.model_dump(exclude_none=True), "at": c.at or now,
                              "source": key.actor}, source="api", row=i)
            for i, c in enumerate(body.changes)]
    stored = await run_in_threadpool(service.record_consent, state.engine, rows,
                                     rules=state.settings.identity_rules(), now=now,
                                     actor=key.actor)
    return ConsentSavedOut(stored=stored)


@router.delete("/v1/contacts/{contact_id}", summary="Erase a person everywhere (GDPR Art. 17)")
async def erase(contact_id: ContactId, state: State, key: PrivacyAdmin) -> dict[str, Any]:
    """Remove the contact, every contact merged with it and every row that names them
    from every table; the audit log keeps one pseudonymised line. The id of a person
    erased already is a 404 (`mql privacy erase EMAIL` says "erased already")."""
    return await run_in_threadpool(privacy.erase, state.engine, str(contact_id),
                                   rules=state.settings.identity_rules(),
                                   now=state.clock.now(), actor=key.actor)


@router.get("/v1/contacts/{contact_id}/export", summary="Everything held about a person")
async def export(contact_id: ContactId, state: State, key: PrivacyAdmin) -> dict[str, Any]:
    """Every row held about the person, per table (GDPR Art. 15/20), as JSON."""
    return await run_in_threadpool(privacy.export, state.engine, str(contact_id),
                                   rules=state.settings.identity_rules(),
                                   now=state.clock.now(), actor=key.actor)
