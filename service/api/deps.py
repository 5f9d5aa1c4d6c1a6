"""Shared objects for the routes, built once in the app's lifespan (no module singletons)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, UploadFile

from service.marks.images import ImageTooLarge
from service.register import Register
from service.settings import Settings


def get_register(request: Request) -> Register:
    return request.app.state.register


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


RegisterDep = Annotated[Register, Depends(get_register)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def read_upload(upload: UploadFile, settings: Settings) -> bytes:
    """Read an upload, refusing more than ``max_upload_bytes`` without reading it all."""
    data = await upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ImageTooLarge(
            f"upload is larger than the limit of {settings.max_upload_bytes:,} bytes"
        )
    return data
