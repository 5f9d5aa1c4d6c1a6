"""/v1/marks: read a mark, its image and thumbnail; add, replace and remove marks."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.imagegen import make_mark, to_bytes

from .conftest import add_mark, mark_count, png, search, stop, top_ids

FULL_META = {
    "id": "sub/logo-1",
    "name": "Acme",
    "owner": "Acme Ltd",
    "application_number": "A-123",
    "registration_number": "R-456",
    "nice_classes": [42, 9],
    "vienna_codes": ["26.01.01", "27.05"],
    "status": "registered",
    "filing_date": "2020-02-29",
}


# -- reading ------------------------------------------------------------------------------
def test_get_mark_with_a_slash_in_its_id(client: TestClient) -> None:
    created = add_mark(client, png(1), FULL_META)
    assert created.status_code == 201, created.text
    for path in ("/v1/marks/sub/logo-1", "/v1/marks/sub%2Flogo-1"):
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.json()
        assert body["id"] == "sub/logo-1"
        assert body["name"] == "Acme"
        assert body["owner"] == "Acme Ltd"
        assert body["application_number"] == "A-123"
        assert body["registration_number"] == "R-456"
        assert body["nice_classes"] == [9, 42]
        assert body["vienna_codes"] == ["26.01.01", "27.05"]
        assert body["status"] == "registered"
        assert body["filing_date"] == "2020-02-29"
        assert body["image_url"] == "/v1/marks/sub%2Flogo-1/image"
        assert body["thumbnail_url"] == "/v1/marks/sub%2Flogo-1/thumbnail"
        assert body["created_at"] and body["updated_at"]
    assert created.json() == client.get("/v1/marks/sub/logo-1").json()


def test_ingested_mark_from_a_subfolder(seeded: TestClient) -> None:
    body = seeded.get("/v1/marks/sub/mark-100").json()
    assert body["id"] == "sub/mark-100"
    assert seeded.get(body["image_url"]).content == png(100)
    assert seeded.get("/v1/marks/sub/mark-100/image").content == png(100)


def test_image_is_the_png_as_uploaded(client: TestClient) -> None:
    data = png(2)
    add_mark(client, data, {"id": "sub/logo-1"})
    for path in ("/v1/marks/sub/logo-1/image", "/v1/marks/sub%2Flogo-1/image"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content == data


@pytest.mark.parametrize(
    ("fmt", "media_type", "as_uploaded"),
    [("JPEG", "image/jpeg", True), ("GIF", "image/gif", True), ("BMP", "image/png", False),
     ("TIFF", "image/png", False)],
)
def test_image_media_type_per_format(
    client: TestClient, fmt: str, media_type: str, as_uploaded: bool
) -> None:
    data = to_bytes(make_mark(3), fmt)
    assert add_mark(client, data, {"id": "m"}).status_code == 201
    response = client.get("/v1/marks/m/image")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert (response.content == data) is as_uploaded
    with Image.open(io.BytesIO(response.content)) as im:
        assert im.size == (128, 128)
        assert im.format == ("PNG" if not as_uploaded else fmt)


@pytest.mark.parametrize("mark_id", ["a b?c#d%e&f=g", "ünïcödé ™", "deep/er/still/x.y"])
def test_ids_with_url_special_characters(client: TestClient, mark_id: str) -> None:
    created = add_mark(client, png(6), {"id": mark_id})
    assert created.status_code == 201
    body = created.json()
    assert client.get(body["image_url"]).content == png(6)
    assert client.get(body["thumbnail_url"]).status_code == 200
    assert top_ids(search(client, png(6), k=1)) == [mark_id]
    mark_path = body["image_url"].removesuffix("/image")
    assert client.get(mark_path).json()["id"] == mark_id
    assert client.delete(mark_path).status_code == 204
    assert mark_count(client) == 0


@pytest.mark.parametrize("mark_id", ["logos/image", "logos/thumbnail"])
def test_ids_ending_like_a_sub_resource(client: TestClient, mark_id: str) -> None:
    """e.g. the mark ingested from ``logos/image.png``: its record is reachable too."""
    created = add_mark(client, png(6), {"id": mark_id, "name": "Tricky"})
    assert created.status_code == 201
    body = created.json()
    assert client.get(body["image_url"]).content == png(6)
    assert client.get(body["thumbnail_url"]).headers["content-type"] == "image/png"
    mark_path = body["image_url"].removesuffix("/image")
    response = client.get(mark_path)
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["name"]) == (mark_id, "Tricky")
    # when mark "logos" exists as well, the path means its sub-resource
    add_mark(client, png(7), {"id": "logos"})
    response = client.get(mark_path)
    assert response.status_code == 200
    if mark_id.endswith("/image"):
        assert response.content == png(7)
    else:
        assert response.headers["content-type"] == "image/png"
    assert client.delete(mark_path).status_code == 204  # DELETE has no sub-resources
    assert client.get("/v1/marks/logos").status_code == 200


def test_thumbnail_is_a_png_no_larger_than_the_thumbnail_size(client: TestClient) -> None:
    add_mark(client, to_bytes(make_mark(4, size=480)), {"id": "big"})
    add_mark(client, png(5), {"id": "small"})
    thumb_size = 160  # Settings default
    big = client.get("/v1/marks/big/thumbnail")
    assert big.status_code == 200
    assert big.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(big.content)) as im:
        assert im.format == "PNG"
        assert max(im.size) == thumb_size
    small = client.get("/v1/marks/small/thumbnail")
    with Image.open(io.BytesIO(small.content)) as im:
        assert im.format == "PNG"
        assert im.size == (128, 128)  # never enlarged


def test_thumbnail_size_follows_settings(make_client: Callable[..., TestClient]) -> None:
    client = make_client(thumbnail_size=48)
    add_mark(client, to_bytes(make_mark(4, size=300)), {"id": "sub/logo-1"})
    response = client.get("/v1/marks/sub%2Flogo-1/thumbnail")
    assert response.status_code == 200
    with Image.open(io.BytesIO(response.content)) as im:
        assert max(im.size) == 48


@pytest.mark.parametrize("suffix", ["", "/image", "/thumbnail"])
@pytest.mark.parametrize("mark_id", ["nope", "sub/nope", "mark-1/extra"])
def test_unknown_id_is_404_json(seeded: TestClient, mark_id: str, suffix: str) -> None:
    response = seeded.get(f"/v1/marks/{mark_id}{suffix}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert mark_id in response.json()["detail"]


def test_delete_unknown_is_404_json(seeded: TestClient) -> None:
    before = mark_count(seeded)
    response = seeded.delete("/v1/marks/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
    assert mark_count(seeded) == before


# -- add and replace ----------------------------------------------------------------------
def test_create_then_replace_with_a_new_image(seeded: TestClient) -> None:
    before = mark_count(seeded)
    old_image, new_image = png(50), png(51)
    created = add_mark(seeded, old_image, {"id": "TM-9", "name": "Old"})
    assert created.status_code == 201
    assert mark_count(seeded) == before + 1
    (top, *_rest) = search(seeded, old_image, k=3).json()["results"]
    assert (top["id"], top["name"]) == ("TM-9", "Old")
    assert top["score"] == pytest.approx(1.0, abs=1e-3)

    replaced = add_mark(seeded, new_image, {"id": "TM-9", "name": "New", "nice_classes": [3]})
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert (body["name"], body["nice_classes"]) == ("New", [3])
    assert body["created_at"] == created.json()["created_at"]
    assert mark_count(seeded) == before + 1  # replaced, not added

    (top, *_rest) = search(seeded, new_image, k=3).json()["results"]
    assert (top["id"], top["name"]) == ("TM-9", "New")
    assert top["score"] == pytest.approx(1.0, abs=1e-3)
    # the old image no longer finds the mark as an exact match
    old_hits = search(seeded, old_image, k=100).json()["results"]
    assert len(old_hits) == before + 1
    assert [h["id"] for h in old_hits].count("TM-9") == 1  # one vector per mark
    assert all(h["score"] < 0.999 for h in old_hits if h["id"] == "TM-9")
    assert seeded.get("/v1/marks/TM-9/image").content == new_image
    assert seeded.get("/v1/marks/TM-9").json()["name"] == "New"


def test_replacing_with_the_same_image_keeps_one_vector(client: TestClient) -> None:
    assert add_mark(client, png(1), {"id": "a"}).status_code == 201
    assert add_mark(client, png(1), {"id": "a", "name": "Renamed"}).status_code == 200
    hits = search(client, png(1), k=10).json()["results"]
    assert [h["id"] for h in hits] == ["a"]
    assert hits[0]["name"] == "Renamed"
    assert client.get("/v1/marks/a/image").content == png(1)  # the shared file is kept
    assert client.get("/v1/marks/a/thumbnail").status_code == 200


def test_two_marks_can_share_one_image(client: TestClient) -> None:
    add_mark(client, png(1), {"id": "a"})
    add_mark(client, png(1), {"id": "b"})
    assert sorted(top_ids(search(client, png(1), k=5))) == ["a", "b"]
    assert client.delete("/v1/marks/a").status_code == 204
    # b's image is still served after a's removal (the stored file is shared)
    response = client.get("/v1/marks/b/image")
    assert response.status_code == 200 and response.content == png(1)
    assert client.get("/v1/marks/b/thumbnail").status_code == 200
    assert top_ids(search(client, png(1), k=5)) == ["b"]


INVALID_METADATA = {
    "bad-json": '{"id": "new-mark",',
    "not-an-object": '["new-mark"]',
    "a-string": '"new-mark"',
    "missing-id": '{"name": "No id"}',
    "empty-id": '{"id": "", "name": "Empty id"}',
    "control-char-id": json.dumps({"id": "new\nmark"}),
    "nice-class-99": json.dumps({"id": "new-mark", "nice_classes": [9, 99]}),
    "nice-class-0": json.dumps({"id": "new-mark", "nice_classes": [0]}),
    "bad-vienna-code": json.dumps({"id": "new-mark", "vienna_codes": ["26.abc"]}),
    "bad-status": json.dumps({"id": "new-mark", "status": "pending-forever"}),
    "bad-filing-date": json.dumps({"id": "new-mark", "filing_date": "yesterday"}),
}


@pytest.mark.parametrize("case", sorted(INVALID_METADATA))
def test_invalid_metadata_is_422_and_changes_nothing(seeded: TestClient, case: str) -> None:
    before = mark_count(seeded)
    response = add_mark(seeded, png(60), INVALID_METADATA[case])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.startswith("invalid metadata")
    assert mark_count(seeded) == before
    assert seeded.get("/v1/marks/new-mark").status_code == 404
    assert "new-mark" not in top_ids(search(seeded, png(60), k=50))


def test_invalid_metadata_does_not_touch_an_existing_mark(seeded: TestClient) -> None:
    response = add_mark(seeded, png(61), {"id": "mark-3", "nice_classes": [99]})
    assert response.status_code == 422
    assert seeded.get("/v1/marks/mark-3/image").content == png(3)
    assert top_ids(search(seeded, png(3), k=1)) == ["mark-3"]
    # mark-3 still holds png(3)'s vector: png(61) is not an exact match for it
    results = search(seeded, png(61), k=5).json()["results"]
    assert all(r["score"] < 0.99 for r in results if r["id"] == "mark-3")


def test_bad_image_does_not_touch_an_existing_mark(seeded: TestClient) -> None:
    response = add_mark(seeded, b"GIF89a garbage", {"id": "mark-3", "name": "Broken"})
    assert response.status_code == 422
    assert seeded.get("/v1/marks/mark-3").json()["name"] is None
    assert seeded.get("/v1/marks/mark-3/image").content == png(3)
    (top, *_rest) = search(seeded, png(3), k=1).json()["results"]
    assert top["id"] == "mark-3" and top["score"] == pytest.approx(1.0, abs=1e-3)


def test_metadata_field_is_required(client: TestClient) -> None:
    response = client.post("/v1/marks", files={"image": ("m.png", png(1), "image/png")})
    assert response.status_code == 422
    assert mark_count(client) == 0


# -- remove -------------------------------------------------------------------------------
def test_delete_then_404_and_gone_from_search(seeded: TestClient) -> None:
    before = mark_count(seeded)
    assert top_ids(search(seeded, png(7), k=1)) == ["mark-7"]
    response = seeded.delete("/v1/marks/mark-7")
    assert response.status_code == 204
    assert response.content == b""
    assert mark_count(seeded) == before - 1
    for suffix in ("", "/image", "/thumbnail"):
        assert seeded.get(f"/v1/marks/mark-7{suffix}").status_code == 404
    assert "mark-7" not in top_ids(search(seeded, png(7), k=100))
    assert len(top_ids(search(seeded, png(7), k=100))) == before - 1
    second = seeded.delete("/v1/marks/mark-7")
    assert second.status_code == 404
    assert "detail" in second.json()


def test_delete_id_with_a_slash(seeded: TestClient) -> None:
    assert seeded.delete("/v1/marks/sub/mark-100").status_code == 204
    assert seeded.get("/v1/marks/sub/mark-100").status_code == 404
    assert seeded.get("/v1/marks/sub/mark-101").status_code == 200
    assert "sub/mark-100" not in top_ids(search(seeded, png(100), k=100))


def test_changes_survive_a_restart(
    seeded: TestClient, make_client: Callable[..., TestClient]
) -> None:
    add_mark(seeded, png(70), {"id": "added", "name": "Added"})
    seeded.delete("/v1/marks/mark-1")
    add_mark(seeded, png(71), {"id": "mark-2"})  # replaced
    count = mark_count(seeded)
    stop(seeded)  # lifespan end: register closed

    again = make_client()
    assert mark_count(again) == count
    assert top_ids(search(again, png(70), k=1)) == ["added"]
    assert top_ids(search(again, png(71), k=1)) == ["mark-2"]
    assert "mark-1" not in top_ids(search(again, png(1), k=100))
    assert again.get("/v1/marks/added").json()["name"] == "Added"
