"""Errors in plain words, one prefix, one shape: ``{"detail": "<one line>"}`` whatever
checked the request (the service or FastAPI itself)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.marks.filters import QueryError, parse_filters
from service.marks.metadata import MarkMetadata
from tests.service.api.conftest import png


def test_a_search_without_an_image_answers_the_documented_shape(client: TestClient) -> None:
    response = client.post("/v1/search", data={"k": "3"})
    assert response.status_code == 422
    assert response.json() == {"detail": "image: required", "code": "invalid_request"}


def test_a_k_that_is_not_a_number_is_one_line(client: TestClient) -> None:
    response = client.post("/v1/search", data={"k": "ten"},
                           files={"image": ("q.png", png(1), "image/png")})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail == "k: 'ten' is not a whole number"


def test_filter_errors_carry_no_pydantic_wording_and_one_prefix(client: TestClient) -> None:
    response = client.post("/v1/search", data={"nice_classes": "99"},
                           files={"image": ("q.png", png(1), "image/png")})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail == "invalid filter nice_classes: Nice classes are 1..45, got [99]"
    assert "Value error" not in detail and "invalid query" not in detail


@pytest.mark.parametrize(("code", "hint"), [("26.1", '"26.01", not "26.1"'),
                                             ("5", '"05", not "5"'),
                                             ("26.01.3", '"26.01.03"')])
def test_a_vienna_code_without_its_zeros_is_an_error_with_the_written_form(
    code: str, hint: str
) -> None:
    with pytest.raises(QueryError, match=hint):  # it found no marks, silently, before
        parse_filters(vienna_codes=code)
    assert parse_filters(vienna_codes="26.01").vienna_codes == ["26.01"]
    with pytest.raises(QueryError, match='look like "26"'):
        parse_filters(vienna_codes="A1")


def test_a_marks_vienna_codes_are_kept_in_their_written_form() -> None:
    assert MarkMetadata(vienna_codes=["26.1.3", "5"]).vienna_codes == ["26.01.03", "05"]


def test_a_list_item_that_is_not_a_number_is_said_plainly() -> None:
    with pytest.raises(QueryError) as info:
        parse_filters(nice_classes="9,nine")
    assert str(info.value) == "invalid filter nice_classes: 'nine' is not a whole number"


@pytest.mark.parametrize(("make", "status", "code"), [
    (lambda c: c.post("/v1/search", files={"image": ("x.png", b"nope", "image/png")}), 415,
     "unsupported_image"),
    (lambda c: c.post("/v1/search", data={"nice_classes": "99"},
                      files={"image": ("q.png", png(1), "image/png")}), 422, "invalid_query"),
    (lambda c: c.get("/v1/marks/nope"), 404, "not_found"),
    (lambda c: c.get("/v1/reports/nope"), 404, "not_found"),
    (lambda c: c.get("/v1/no-such-route"), 404, "not_found"),
    (lambda c: c.post("/v1/marks", data={"metadata": "{"},
                      files={"image": ("q.png", png(1), "image/png")}), 422, "invalid_metadata"),
])
def test_every_error_carries_a_stable_code(client: TestClient, make, status: int,  # noqa: ANN001
                                           code: str) -> None:
    response = make(client)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and response.json()["detail"]
