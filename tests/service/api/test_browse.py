"""``GET /v1/marks``: browsing the register by classes, codes, owner, dates and words,
without an image (visibility: tests/service/api/test_access.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.service.api.conftest import add_mark, png


def _fill(client: TestClient) -> None:
    rows = [
        {"id": "TM-1", "name": "Acme", "owner": "Acme Ltd", "nice_classes": [9],
         "vienna_codes": ["26.01.01"], "filing_date": "2019-01-05", "status": "registered"},
        {"id": "TM-2", "name": "Zenith", "owner": "Zenith Co", "nice_classes": [9, 42],
         "vienna_codes": ["26.11.01"], "filing_date": "2024-06-01", "status": "registered"},
        {"id": "TM-3", "name": "Plain", "nice_classes": [25]},
    ]
    for seed, row in enumerate(rows):
        assert add_mark(client, png(seed), row).status_code == 201


def test_lists_marks_passing_the_filters_newest_first(client: TestClient) -> None:
    _fill(client)
    body = client.get("/v1/marks").json()
    assert [m["id"] for m in body["marks"]] == ["TM-2", "TM-1", "TM-3"]
    assert (body["total"], body["page"], body["pages"]) == (3, 1, 1)
    first = body["marks"][1]
    assert (first["name"], first["owner"], first["nice_classes"]) == ("Acme", "Acme Ltd", [9])
    assert client.get(first["thumbnail_url"]).status_code == 200
    cases = {
        (("nice_classes", "42"),): ["TM-2"],
        (("vienna_codes", "26.01"),): ["TM-1"],
        (("owner", "zenith"),): ["TM-2"],
        (("filed_from", "2020-01-01"),): ["TM-2"],
        (("status", "registered"), ("nice_classes", "9")): ["TM-2", "TM-1"],
        (("text", "pla"),): ["TM-3"],
    }
    for params, expected in cases.items():
        found = client.get("/v1/marks", params=dict(params)).json()["marks"]
        assert [m["id"] for m in found] == expected, params


def test_pages(client: TestClient) -> None:
    _fill(client)
    pages = [client.get("/v1/marks", params={"per_page": 2, "page": p}).json()
             for p in (1, 2, 3)]
    assert [[m["id"] for m in p["marks"]] for p in pages] == [["TM-2", "TM-1"], ["TM-3"], []]
    assert {p["pages"] for p in pages} == {2} and {p["total"] for p in pages} == {3}


def test_bad_parameters_are_clear_422s(client: TestClient) -> None:
    for params, words in (({"vienna_codes": "26.1"}, "26.01"), ({"nice_classes": "99"}, "1..45"),
                          ({"filed_from": "yesterday"}, "filed_from"),
                          ({"per_page": "1000"}, "per_page"), ({"page": "0"}, "page")):
        response = client.get("/v1/marks", params=params)
        assert response.status_code == 422, params
        body = response.json()
        assert words in body["detail"] and body["code"], (params, body)
