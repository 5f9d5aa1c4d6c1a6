"""Search options over HTTP: filters as form fields, crop, rotation tolerance, /similar."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.imagegen import make_mark, to_bytes
from tests.service.api.conftest import add_mark, png, top_ids


@pytest.fixture
def catalogue(client: TestClient) -> TestClient:
    """12 marks; the ones with seed % 4 == 1 are class 9, Vienna 26.01.03, owner Rare Ltd."""
    for seed in range(12):
        rare = seed % 4 == 1
        meta = {"id": f"tm-{seed}", "name": f"Mark {seed}", "status": "registered",
                "nice_classes": [9] if rare else [25],
                "vienna_codes": ["26.01.03"] if rare else ["03.01.01"],
                "owner": "Rare Ltd" if rare else "Common plc",
                "filing_date": "2022-02-02" if rare else "2010-10-10"}
        assert add_mark(client, png(seed), meta).status_code == 201
    return client


RARE = ["tm-1", "tm-5", "tm-9"]


def _search(client: TestClient, data: bytes, **form: str) -> object:
    return client.post("/v1/search", files={"image": ("q.png", data, "image/png")}, data=form)


@pytest.mark.parametrize("form", [
    {"nice_classes": "9"}, {"vienna_codes": "26.01"}, {"owner": "RARE"},
    {"filed_from": "2020-01-01", "filed_to": "2023-01-01"},
    {"nice_classes": "1,9", "status": "registered"},
])
def test_filters_as_form_fields_return_k_matching_marks(catalogue: TestClient, form: dict) -> None:
    response = _search(catalogue, png(0), k="3", **form)
    assert sorted(top_ids(response)) == RARE
    body = response.json()
    assert all(9 in r["nice_classes"] and r["vienna_codes"] == ["26.01.03"]
               for r in body["results"])
    assert body["filters"]  # the filters applied are echoed


@pytest.mark.parametrize(("form", "message"), [
    ({"nice_classes": "99"}, "Nice classes"),
    ({"vienna_codes": "x"}, "Vienna"),
    ({"status": "pending"}, "status"),
    ({"filed_from": "last week"}, "filed_from"),
    ({"crop_x": "1", "crop_y": "1"}, "crop"),
    ({"crop_x": "100", "crop_y": "100", "crop_w": "100", "crop_h": "100"}, "outside"),
])
def test_invalid_options_are_422_with_a_reason(catalogue: TestClient, form: dict,
                                               message: str) -> None:
    response = _search(catalogue, png(0), **form)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/json")
    assert message in response.json()["detail"]


def test_crop_fields_change_the_query(catalogue: TestClient) -> None:
    canvas = Image.new("RGB", (260, 128), "white")
    canvas.paste(make_mark(2), (0, 0))
    canvas.paste(make_mark(6), (132, 0))
    data = to_bytes(canvas)
    left = _search(catalogue, data, k="1", crop_x="0", crop_y="0", crop_w="128", crop_h="128")
    right = _search(catalogue, data, k="1", crop_x="132", crop_y="0", crop_w="128",
                    crop_h="128")
    assert top_ids(left) == ["tm-2"] and top_ids(right) == ["tm-6"]
    assert left.json()["results"][0]["score"] > 0.99


def test_rotation_tolerant_field(catalogue: TestClient) -> None:
    buf = io.BytesIO()
    make_mark(10).transpose(Image.Transpose.ROTATE_270).save(buf, "PNG")
    response = _search(catalogue, buf.getvalue(), k="1", rotation_tolerant="true")
    assert top_ids(response) == ["tm-10"]
    assert response.json()["results"][0]["score"] == pytest.approx(1.0, abs=1e-3)
    assert response.json()["rotation_tolerant"] is True


def test_similar_by_id_leaves_the_mark_out_and_takes_filters(catalogue: TestClient) -> None:
    response = catalogue.get("/v1/marks/tm-5/similar", params={"k": 4})
    ids = top_ids(response)
    assert len(ids) == 4 and "tm-5" not in ids
    filtered = catalogue.get("/v1/marks/tm-5/similar", params={"k": 4, "nice_classes": "9"})
    assert sorted(top_ids(filtered)) == ["tm-1", "tm-9"]
    assert catalogue.get("/v1/marks/nope/similar").status_code == 404
    bad = catalogue.get("/v1/marks/tm-5/similar", params={"owner": "x", "filed_to": "soon"})
    assert bad.status_code == 422


def test_a_mark_whose_id_ends_in_similar_is_still_readable(client: TestClient) -> None:
    assert add_mark(client, png(3), {"id": "brand/similar"}).status_code == 201
    assert client.get("/v1/marks/brand/similar").json()["id"] == "brand/similar"


def test_result_says_which_component_matched_with_its_box(client: TestClient) -> None:
    from tests.service.marks.test_components import figure, with_word

    for seed in range(6):
        assert add_mark(client, png(seed + 40), {"id": f"o-{seed}"}).status_code == 201
    assert add_mark(client, to_bytes(with_word(figure())), {"id": "acme"}).status_code == 201
    response = _search(client, to_bytes(figure(colour="#060")), k="2")
    top = response.json()["results"][0]
    assert top["id"] == "acme"
    assert top["match"]["component"] == "figure" and top["match"]["query_part"] == "whole"
    x, y, w, h = top["match"]["box"]
    assert x < 20 and 110 < w < 140 and top["match"]["query_box"] is None


def test_mode_field(catalogue: TestClient) -> None:
    r, g, b = make_mark(4).split()
    recoloured = to_bytes(Image.merge("RGB", (b, r, g)))  # same shape, channels swapped
    shape = _search(catalogue, recoloured, k="1", mode="shape").json()
    colour = _search(catalogue, recoloured, k="1", mode="colour").json()
    assert shape["mode"] == "shape" and colour["mode"] == "colour"
    assert shape["results"][0]["id"] == "tm-4"
    assert shape["results"][0]["score"] == shape["results"][0]["shape_score"]
    assert colour["results"][0]["score"] <= colour["results"][0]["shape_score"]
    assert _search(catalogue, recoloured, mode="texture").status_code == 422
    similar = catalogue.get("/v1/marks/tm-4/similar", params={"mode": "shape", "k": 2})
    assert similar.json()["mode"] == "shape"


def test_words_typed_or_read_raise_marks_and_show_the_text(client: TestClient) -> None:
    from tests.service.test_register_words import composite

    for seed, word in enumerate(["ZENITH", "KORVEX", "BOLTRA", "MIRALO", None, None]):
        assert add_mark(client, to_bytes(composite(seed, word)), {"id": f"w-{seed}"}
                        ).status_code == 201
    plain = to_bytes(composite(77, None))  # an unknown figure without words
    typed = _search(client, plain, k="2", text="Miralo").json()
    assert typed["query_text"] == "miralo"
    top = typed["results"][0]
    assert top["id"] == "w-3" and top["text"] == "MIRALO" and top["risk"] == "medium"
    # identical words alone score 0.8 (service/search/ranking.py): a risk, below a device match
    assert top["match"]["words"] == {"query": "miralo", "mark": "MIRALO", "similarity": 1.0}
    read = _search(client, to_bytes(composite(78, "ZENITH")), k="1").json()
    assert read["query_text"] == "zenith" and read["results"][0]["id"] == "w-0"
    off = _search(client, to_bytes(composite(78, "ZENITH")), k="1", read_text="false").json()
    assert off["query_text"] is None and off["results"][0]["match"]["words"] is None
    similar = client.get("/v1/marks/w-4/similar", params={"text": "boltra", "k": 1}).json()
    assert similar["results"][0]["id"] == "w-2"
    assert _search(client, plain, text="x" * 201).status_code == 422
