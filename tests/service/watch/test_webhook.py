"""Alert delivery to a webhook: a real HTTP receiver on 127.0.0.1 that fails at first; the
alert is retried with backoff until it is taken, every attempt recorded, never posted
again once delivered; a dead receiver's alerts are given up after the last try."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from models.embedder import Embedder
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.settings import Settings
from service.watch import webhook
from service.watch.store import AlertQuery
from service.watch.watches import WatchSpec
from service.watch.webhook import WebhookSender, attempts_of, wait_delivered
from tests.service.watch.test_watches import PROTECTED, _png, _redrawn


class Receiver:
    """An HTTP server on 127.0.0.1 answering 500 to the first ``failures`` posts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.posts: list[tuple[dict, str | None]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.posts.append((body, self.headers.get("Idempotency-Key")))
                ok = len(receiver.posts) > receiver.failures
                self.send_response(200 if ok else 500)
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"busy")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(failures=2)
    yield server
    server.close()


def _alerted(settings: Settings, embedder: Embedder, url: str) -> Register:
    register = Register(settings.model_copy(update={"watch_webhook_url": url}), embedder)
    register.watches.add(WatchSpec("ours", "cli", [("ours.png", _png(PROTECTED))]))
    register.add_mark(_redrawn(PROTECTED), MarkMetadata(id="copycat", name="Copy Co mark"))
    return register


def test_an_alert_is_retried_until_delivered_and_every_attempt_recorded(
        settings: Settings, embedder: Embedder, receiver: Receiver) -> None:
    with _alerted(settings, embedder, receiver.url) as register:
        (alert,), _ = register.watches.store.alerts(AlertQuery())
        assert alert.delivery == "pending"
        sender = WebhookSender(register.records, receiver.url, backoff_s=0.0)
        reports = [sender.deliver_due() for _ in range(4)]
        sender.close()
        assert [r.delivered for r in reports] == [0, 0, 1, 0]
        assert [r.retrying for r in reports] == [1, 1, 0, 0]
        assert [code for _, _, code, _ in attempts_of(register.records, alert.id)] == \
            [500, 500, 200]
        assert len(receiver.posts) == 3  # delivered once, then never posted again
        body, key = receiver.posts[-1]
        assert key == f"tmsearch-alert-{alert.id}"
        assert body["watch"]["name"] == "ours" and body["mark"]["id"] == "copycat"
        assert body["mark"]["name"] == "Copy Co mark" and body["attempt"] == 3
        assert body["score"] == pytest.approx(alert.score) and body["risk"] == alert.risk
        (after,), _ = register.watches.store.alerts(AlertQuery())
        assert after.delivery == "delivered"


def test_a_dead_receiver_is_given_up_after_the_last_try(
        settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook, "MAX_ATTEMPTS", 3)
    dead = "http://127.0.0.1:9/alerts"  # the discard port: nothing listens
    with _alerted(settings, embedder, dead) as register:
        sender = WebhookSender(register.records, dead, backoff_s=0.0)
        reports = [sender.deliver_due() for _ in range(4)]
        sender.close()
        assert [r.failed for r in reports] == [0, 0, 1, 0]
        (alert,), _ = register.watches.store.alerts(AlertQuery())
        assert alert.delivery == "failed"
        attempts = attempts_of(register.records, alert.id)
        assert len(attempts) == 3 and all(code is None and error for _, _, code, error
                                           in attempts)


def test_a_server_delivers_alerts_by_itself(settings: Settings, embedder: Embedder,
                                            receiver: Receiver) -> None:
    """The server's sender takes alerts from an ingest by another process (the CLI)."""
    receiver.failures = 0
    changed = settings.model_copy(update={"watch_webhook_url": receiver.url,
                                          "watch_webhook_every_s": 0.2})
    from service.api.main import create_app

    with TestClient(create_app(changed, embedder)):
        with _alerted(settings, embedder, receiver.url) as register:
            (alert,), _ = register.watches.store.alerts(AlertQuery())
            assert wait_delivered(register.records, alert.id) == "delivered"
    assert [body["mark"]["id"] for body, _ in receiver.posts] == ["copycat"]
