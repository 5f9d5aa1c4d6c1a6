"""Schemathesis against the app's own OpenAPI schema: requests generated from every
operation's declared parameters and bodies, sent with an admin key (so every route's
code runs, not only its 403) to the seeded register. No answer may be a 5xx."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from service.api.main import create_app
from service.settings import Settings

# the schema of the app as built (no lifespan runs: nothing is opened)
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


def _httpx_kwargs(case: Any) -> dict[str, Any]:
    """Schemathesis' requests-style arguments, for the in-process httpx TestClient."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    files = kwargs.pop("files", None)
    if files:
        kwargs["files"] = [
            (name, (value[0], value[1] if isinstance(value[1], bytes | str)
                    else str(value[1]), *value[2:]))
            for name, value in files]
    data = kwargs.pop("data", None)
    if isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    return kwargs


@schema.parametrize()
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_server_errors(case, seeded: TestClient) -> None:  # noqa: ANN001
    kwargs = _httpx_kwargs(case)
    kwargs["headers"] = {**kwargs.get("headers", {}),
                         "Authorization": seeded.headers["Authorization"]}
    response = seeded.request(**kwargs)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
