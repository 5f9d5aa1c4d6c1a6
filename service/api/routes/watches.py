"""Watches and their alerts over HTTP (the CLI's ``tmsearch watch``).

A watch belongs to the API key that made it: agent, examiner and admin keys may keep
watches; a key sees its own watches and their alerts, admins see every one. Another
owner's watch or alert answers 404 exactly as a missing one does. Alerts on filed
(unpublished) marks are shown only to roles that may see filed marks.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.api.deps import RegisterDep, SettingsDep, read_upload
from service.api.schemas import ErrorOut
from service.api.security import Principal, PrincipalDep, upload_limit
from service.marks.metadata import split_list
from service.watch.store import (
    ALERT_STATUSES,
    MAX_PER_PAGE,
    Alert,
    AlertQuery,
    Watch,
    WatchError,
)
from service.watch.watches import WatchSpec

router = APIRouter(tags=["watch"])
_NOT_FOUND = {404: {"model": ErrorOut, "description": "No such watch or alert (or not "
                                                          "yours)."}}


def watch_owner(principal: PrincipalDep) -> Principal:
    """Watches need a key: the watch is that key's."""
    if principal.key_id is None:
        raise HTTPException(401, "watches need an API key: send Authorization: Bearer KEY",
                            headers={"WWW-Authenticate": "Bearer"})
    if principal.role.value == "public":
        raise HTTPException(403, "watches need an agent, examiner or admin key")
    return principal


OwnerDep = Annotated[Principal, Depends(watch_owner)]


def _reach(owner: Principal) -> str | None:
    """Whose watches the caller sees: its own, or (admins) everyone's."""
    return None if owner.role.sees_every_watch else owner.key_id


class WatchedMarkOut(BaseModel):
    id: int
    label: str
    mark_id: str | None = None


class WatchOut(BaseModel):
    id: int
    name: str
    owner: str
    nice_classes: list[int]
    vienna_codes: list[str]
    min_risk: str | None = None
    min_score: float | None = None
    created_at: str
    marks: list[WatchedMarkOut]

    @classmethod
    def of(cls, watch: Watch) -> WatchOut:
        data = asdict(watch)
        data["marks"] = [WatchedMarkOut(id=m.id, label=m.label, mark_id=m.mark_id)
                         for m in watch.marks]
        return cls(**data)


class AlertOut(BaseModel):
    id: int
    watch_id: int
    watch: str
    mark_id: str = Field(description="The new filing that looks like a watched mark.")
    watched_mark: str = Field(description="Which of the watch's marks it looks like.")
    score: float = Field(description="The score a search with the watched mark gives it.")
    shape_score: float
    risk: str
    matched: str | None = Field(None, description="The filing's part that matched.")
    status: str
    delivery: str | None = Field(None, description="Webhook: pending, delivered, failed.")
    created_at: str

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(**asdict(alert))


class AlertPageOut(BaseModel):
    alerts: list[AlertOut]
    total: int
    page: int
    per_page: int
    pages: int


class AlertStatusIn(BaseModel):
    status: str = Field(description="new, seen or dismissed.")


@router.post("/v1/watches", status_code=201, response_model=WatchOut,
             responses={422: {"model": ErrorOut}}, dependencies=[upload_limit])
async def create_watch(
    register: RegisterDep, settings: SettingsDep, owner: OwnerDep,
    name: Annotated[str, Form(max_length=200)],
    images: Annotated[list[UploadFile] | None, File(description="Marks to protect.")] = None,
    mark_ids: Annotated[str | None, Form(description="Register marks to protect, "
                                                     "comma-separated.")] = None,
    nice_classes: Annotated[str | None, Form(description="e.g. 9,42")] = None,
    vienna_codes: Annotated[str | None, Form(description="e.g. 26.01,03")] = None,
    min_risk: Annotated[str | None, Form(description="low, medium (default) or high")] = None,
    min_score: Annotated[float | None, Form(ge=0.0, le=1.0)] = None,
) -> WatchOut:
    """A new watch of one or more marks (uploaded images and/or register mark ids)."""
    uploads = [(u.filename or f"image-{i}", await read_upload(u, settings))
               for i, u in enumerate(images or [])]
    try:
        classes = [int(c) for c in split_list(nice_classes)]
    except ValueError as exc:
        raise WatchError(f"nice_classes takes numbers, got {nice_classes!r}") from exc
    spec = WatchSpec(name, owner.key_id or "", uploads, split_list(mark_ids), classes,
                     split_list(vienna_codes), min_risk, min_score)
    watch = await run_in_threadpool(register.watches.add, spec, owner.include_unpublished)
    return WatchOut.of(watch)


@router.get("/v1/watches", response_model=list[WatchOut])
def list_watches(register: RegisterDep, owner: OwnerDep) -> list[WatchOut]:
    return [WatchOut.of(w) for w in register.watches.list(_reach(owner))]


@router.get("/v1/watches/{watch_id}", response_model=WatchOut, responses=_NOT_FOUND)
def get_watch(register: RegisterDep, owner: OwnerDep, watch_id: int) -> WatchOut:
    return WatchOut.of(register.watches.get(watch_id, _reach(owner)))


@router.delete("/v1/watches/{watch_id}", response_model=WatchOut, responses=_NOT_FOUND)
def delete_watch(register: RegisterDep, owner: OwnerDep, watch_id: int) -> WatchOut:
    """Remove a watch and its alerts."""
    watch = register.watches.get(watch_id, _reach(owner))
    register.watches.remove(watch)
    return WatchOut.of(watch)


@router.get("/v1/alerts", response_model=AlertPageOut, responses={422: {"model": ErrorOut}})
def list_alerts(
    register: RegisterDep, owner: OwnerDep,
    watch: Annotated[str | None, Query(max_length=200, description="A watch's name.")] = None,
    watch_id: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="A watch's id.")
                        ] = None,
    status: Annotated[str | None, Query(description="new, seen or dismissed")] = None,
    risk: Annotated[str | None, Query(description="low, medium or high")] = None,
    since: Annotated[str | None, Query(description="Created at or after (ISO date).")] = None,
    until: Annotated[str | None, Query(description="Created at or before (ISO date).")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> AlertPageOut:
    """Alerts on the caller's watches (admins: all), newest first."""
    if status is not None and status not in ALERT_STATUSES:
        raise WatchError(f"status must be one of {', '.join(ALERT_STATUSES)}, got {status!r}")
    if risk is not None and risk not in ("low", "medium", "high"):
        raise WatchError(f"risk must be low, medium or high, got {risk!r}")
    found, total = register.watches.store.alerts(AlertQuery(
        owner=_reach(owner), include_unpublished=owner.include_unpublished, watch=watch,
        watch_id=watch_id, status=status, risk=risk, since=since, until=until, page=page,
        per_page=per_page))
    return AlertPageOut(alerts=[AlertOut.of(a) for a in found], total=total, page=page,
                        per_page=per_page, pages=max(1, -(-total // per_page)))


@router.patch("/v1/alerts/{alert_id}", response_model=AlertOut, responses=_NOT_FOUND)
def mark_alert(register: RegisterDep, owner: OwnerDep, alert_id: int,
               body: AlertStatusIn) -> AlertOut:
    """Mark an alert seen or dismissed (or new again)."""
    reach = AlertQuery(owner=_reach(owner), include_unpublished=owner.include_unpublished)
    return AlertOut.of(register.watches.store.set_status(alert_id, body.status, reach))
