"""API keys over HTTP, for admins: create (the key is in the response, once), list,
revoke. The CLI's ``tmsearch keys`` does the same on the data dir."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from service.api.deps import KeysDep
from service.api.schemas import ErrorOut
from service.api.security import require_admin
from service.security.access import Role
from service.security.keys import ApiKey, UnknownKey

router = APIRouter(prefix="/v1/keys", tags=["keys"], dependencies=[Depends(require_admin)])


class KeyIn(BaseModel):
    role: Role
    name: str | None = Field(None, max_length=200, description="Who or what the key is for.")


class KeyOut(BaseModel):
    key_id: str
    role: Role
    name: str | None = None
    created_at: str
    revoked_at: str | None = None

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(key_id=key.key_id, role=key.role, name=key.name, created_at=key.created_at,
                   revoked_at=key.revoked_at)


class NewKeyOut(KeyOut):
    key: str = Field(description="The key itself: shown this once, stored only hashed.")


@router.post("", status_code=201, response_model=NewKeyOut)
def create_key(keys: KeysDep, body: KeyIn) -> NewKeyOut:
    record, key = keys.create(body.role, body.name)
    return NewKeyOut(**KeyOut.of(record).model_dump(), key=key)


@router.get("", response_model=list[KeyOut])
def list_keys(keys: KeysDep) -> list[KeyOut]:
    return [KeyOut.of(k) for k in keys.list()]


@router.delete("/{key_id}", response_model=KeyOut,
               responses={404: {"model": ErrorOut, "description": "No such key."}})
def revoke_key(keys: KeysDep, key_id: str) -> KeyOut:
    """Revoke a key: requests with it get 401 from now on."""
    try:
        return KeyOut.of(keys.revoke(key_id))
    except UnknownKey as exc:
        raise HTTPException(404, f"no key with id {key_id!r}") from exc
