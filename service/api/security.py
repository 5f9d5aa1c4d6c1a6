"""Who is asking (API key or anonymous), what their role may do, and how often.

Routes declare what they need as dependencies: ``PrincipalDep`` (anyone the server lets
in), ``AdminDep`` (admin keys only), and ``search_limit`` / ``upload_limit`` (the rate
limits of the caller's role). A wrong or revoked key is 401 whatever the route; a valid
key whose role lacks the right is 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from service.api.deps import get_keys, get_limiter, get_settings
from service.security.access import Role
from service.settings import Settings


@dataclass(frozen=True)
class Principal:
    role: Role
    key_id: str | None = None  # None: anonymous
    address: str = "unknown"

    @property
    def caller(self) -> str:
        """What rate limits count by: the key, else the client address."""
        return f"key:{self.key_id}" if self.key_id else f"addr:{self.address}"

    @property
    def include_unpublished(self) -> bool:
        return self.role.sees_unpublished


class RateLimited(Exception):
    def __init__(self, retry_after: float, kind: str, role: Role, per_minute: int) -> None:
        super().__init__(f"too many {kind} requests for the {role.value} role: the limit "
                         f"is {per_minute} a minute")
        self.retry_after, self.kind, self.role = retry_after, kind, role.value


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def client_address(request: Request, settings: Settings) -> str:
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded.strip():
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def get_principal(request: Request) -> Principal:
    """The caller's role from ``Authorization: Bearer KEY``, or the anonymous role."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    settings = get_settings(request)
    keys = get_keys(request)
    address = client_address(request, settings)
    header = request.headers.get("authorization")
    if header is None:
        if not settings.anonymous_access:
            raise _unauthorised("an API key is required: send Authorization: Bearer KEY")
        principal = Principal(Role.public, None, address)
    else:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise _unauthorised("the Authorization header must be: Bearer KEY")
        found = keys.authenticate(key.strip())
        if found is None:
            raise _unauthorised("unknown or revoked API key")
        principal = Principal(found.role, found.key_id, address)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_examiner(principal: PrincipalDep) -> Principal:
    if not principal.role.sees_unpublished:
        raise HTTPException(403, "this needs an examiner or admin key")
    return principal



def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.role.can_write:
        raise HTTPException(403, f"this needs an admin key; yours is {principal.role.value}")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


def _limit(kind: str):  # type: ignore[no-untyped-def]
    def check(request: Request, principal: PrincipalDep) -> Principal:
        limiter = get_limiter(request)
        wait = limiter.check(principal.caller, principal.role, kind)
        if wait is not None:
            raise RateLimited(wait, kind, principal.role, limiter.per_minute(principal.role, kind))
        return principal

    return check


search_limit = Depends(_limit("search"))
upload_limit = Depends(_limit("upload"))
SearchCaller = Annotated[Principal, search_limit]
UploadCaller = Annotated[Principal, upload_limit]
