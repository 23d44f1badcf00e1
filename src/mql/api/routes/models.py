"""Model versions: upload (validated; a dry run stores nothing), list, activate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from mql.api.deps import ModelActivator, ModelChecker, Reader, State
from mql.api.guard import GuardedRoute
from mql.api.schemas import ERRORS, ActivationOut, ModelCheckOut, ModelIn, ModelVersionOut
from mql.service.model_versions import activate_version, check_model, model_versions, upload_model

router = APIRouter(route_class=GuardedRoute, tags=["models"], responses=ERRORS)


@router.post("/v1/models/check", summary="Validate a model file (dry run)")
async def check(body: ModelIn, _: ModelChecker) -> ModelCheckOut:
    """Validate the model text and store nothing; 422 lists every problem as
    file:line:column field: message."""
    name = await run_in_threadpool(check_model, body.text, source=body.source)
    return ModelCheckOut(valid=True, name=name)


@router.post("/v1/models", status_code=201, summary="Upload a model file")
async def upload(body: ModelIn, state: State, key: ModelChecker) -> ModelVersionOut:
    """Validate the model text and store it as an inactive version (the same text gives the
    same version); 422 lists every problem as file:line:column field: message."""
    stored = await run_in_threadpool(upload_model, state.engine, body.text, source=body.source,
                                     actor=key.actor, now=state.clock.now())
    return ModelVersionOut.from_version(stored.version)


@router.get("/v1/models", summary="Stored model versions")
async def versions(state: State, _: Reader) -> list[ModelVersionOut]:
    """Every stored model version, oldest first; `active` marks the live one."""
    found = await run_in_threadpool(model_versions, state.engine)
    return [ModelVersionOut.from_version(v) for v in found]


@router.post("/v1/models/{version_id}/activate", summary="Activate a model version")
async def activate(
    version_id: int, state: State, key: ModelActivator,
    dry_run: Annotated[bool, Query(description="show what would change; change nothing")]
    = False,
) -> ActivationOut:
    """Make the version live and rescore every contact under it (or, with `dry_run`, show
    who it would newly qualify and change nothing); 404 for an unknown id."""
    version, done = await run_in_threadpool(activate_version, state.engine, version_id,
                                            actor=key.actor, now=state.clock.now(),
                                            dry_run=dry_run)
    return ActivationOut(version=ModelVersionOut.from_version(version), dry_run=done.dry_run,
                         newly_qualified=done.newly_qualified,
                         no_longer_qualified=done.no_longer_qualified,
                         transitions=done.transitions)
