"""Refusals before a request reaches a route, each as the API's JSON error.

- a declared ``Content-Length`` over the body limit is refused (413) before one byte of
  the body is read; a body sent without a length (chunked) is counted as it arrives and
  refused when it passes the limit;
- request headers over ``MAX_HEADER_BYTES`` in all, or one header over
  ``MAX_ONE_HEADER_BYTES`` (a 1 MB ``Authorization``), get 431;
- what the HTTP parser itself refuses (a malformed request, headers past what it buffers)
  gets a JSON 400 from ``JsonH11Protocol`` instead of uvicorn's plain-text one.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEADER_BYTES = 64 * 1024
MAX_ONE_HEADER_BYTES = 16 * 1024
#: what the HTTP parser buffers for a request's head: above MAX_HEADER_BYTES so that an
#: oversized header is read whole and answered 431 (not cut off by a reset)
PARSER_BUFFER_BYTES = 2 * 1024 * 1024


class BodyTooLarge(HTTPException):
    """A body without a declared length grew past the limit while it was read (an
    HTTPException, so the form parser passes it on and the API answers 413 JSON)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the limit of {limit:,} bytes")


_CODES = {400: "invalid_request", 413: "too_large", 431: "headers_too_large"}


async def send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "code": _CODES.get(status, "error")}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """Pure ASGI middleware for the limits above (``max_body``: bytes of a whole body)."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
        sizes = [len(name) + len(value) for name, value in headers]
        if sum(sizes) > MAX_HEADER_BYTES or max(sizes, default=0) > MAX_ONE_HEADER_BYTES:
            await send_json(send, 431, f"request headers are too large: at most "
                            f"{MAX_ONE_HEADER_BYTES // 1024} KB a header and "
                            f"{MAX_HEADER_BYTES // 1024} KB in all")
            return
        declared = dict(headers).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await send_json(send, 400, "Content-Length is not a number")
                return
            if length > self.max_body:
                await send_json(send, 413, f"request body of {length:,} bytes; the limit "
                                f"is {self.max_body:,} bytes")
                return
        started = False
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:  # raised outside a route: answered here
            if not started:
                await send_json(send, 413, str(exc.detail))


class JsonH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering what its parser refuses in the API's JSON."""

    def send_400_response(self, msg: str) -> None:
        import h11

        body = json.dumps({"detail": "invalid HTTP request: malformed, or its headers are "
                           "larger than the server reads", "code": "invalid_request"}).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                      h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()
