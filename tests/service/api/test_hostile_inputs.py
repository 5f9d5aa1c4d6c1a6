"""The hardening probe's reproductions through the API: hostile SVGs and odd but valid
rasters get a 2xx or a 4xx JSON answer, never a 500 or a dead server, and change nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.imagegen import to_bytes
from tests.service.api.conftest import add_mark, mark_count, search

NS = 'xmlns="http://www.w3.org/2000/svg"'
HOSTILE_SVGS = {
    "300 nested groups": f'<svg {NS} viewBox="0 0 100 100">' + "<g>" * 300
    + '<rect width="50" height="50"/>' + "</g>" * 300 + "</svg>",
    "viewBox 1 x 1e9": f'<svg {NS} viewBox="0 0 1 1000000000"><rect width="1" height="50"/></svg>',
    "fill from elsewhere": f'<svg {NS} viewBox="0 0 9 9"><rect width="5" height="5" '
    'fill="url(http://example.com/p#a)"/></svg>',
    "filter from elsewhere": f'<svg {NS} viewBox="0 0 9 9"><rect width="5" height="5" '
    'filter="url(http://example.com/f.svg#f)"/></svg>',
}


@pytest.mark.parametrize("case", list(HOSTILE_SVGS))
def test_hostile_svgs_are_4xx_json_and_the_server_stays_up(
    make_client: Callable[..., TestClient], case: str
) -> None:
    client = make_client(role=None)  # anonymous, as the probe sent them
    response = search(client, HOSTILE_SVGS[case].encode(), filename="x.svg",
                      content_type="image/svg+xml")
    assert response.status_code in (413, 415, 422), response.text
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("size", [(300, 1), (1, 300), (1, 129), (2000, 10), (1, 1), (3, 2)])
def test_odd_but_valid_raster_sizes_search_and_ingest(
    make_client: Callable[..., TestClient], size: tuple[int, int]
) -> None:
    client = make_client()
    image = Image.new("RGB", size, "white")
    image.paste((20, 20, 20), (0, 0, max(1, size[0] // 2), size[1]))
    data = to_bytes(image)
    found = search(client, data)
    assert found.status_code == 200, found.text
    assert found.headers["content-type"].startswith("application/json")
    added = add_mark(client, data, {"id": f"odd-{size[0]}x{size[1]}"})
    assert added.status_code == 201, added.text
    assert added.headers["content-type"].startswith("application/json")
    assert mark_count(client) == 1
    assert search(client, data).json()["results"][0]["id"] == f"odd-{size[0]}x{size[1]}"
