"""Batch pre-check reports: bounded zips, CSV rows, a PDF section per query."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from pypdf import PdfReader

from service.marks.filters import parse_filters
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.reports.batch import ReportError, read_zip, run_report, write_csv
from service.reports.pdf import write_pdf
from service.search.query import SearchOptions
from tests.imagegen import make_mark, to_bytes


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def test_zip_yields_its_images_only() -> None:
    data = zip_of({"a.png": b"1", "sub/b.JPG": b"2", "notes.txt": b"x", "dir/": b""})
    assert list(read_zip(data)) == [("a.png", b"1"), ("sub/b.JPG", b"2")]


@pytest.mark.parametrize(("members", "reason"), [
    ({"../evil.png": b"1"}, "unsafe path"),
    ({"/abs.png": b"1"}, "unsafe path"),
    ({"bomb.png": b"\0" * 2_000_000}, "compression ratio"),
])
def test_hostile_zips_are_refused(members: dict[str, bytes], reason: str) -> None:
    with pytest.raises(ReportError, match=reason):
        list(read_zip(zip_of(members)))


def test_zip_bounds_on_count_and_size_and_format() -> None:
    many = zip_of({f"{i}.png": b"1" for i in range(5)})
    with pytest.raises(ReportError, match="limit is 4"):
        list(read_zip(many, max_files=4))
    with pytest.raises(ReportError, match="unpack to more than"):
        list(read_zip(many, max_total=4))
    with pytest.raises(ReportError, match="not a readable zip"):
        list(read_zip(b"PK-not-really"))


def patched_zip(members: dict[str, bytes], damaged: str, how: str) -> bytes:
    """A stored (uncompressed) zip with one member made encrypted (its flag bit set in the
    local and central headers) or given a wrong CRC, as the probe sent them."""
    data = bytearray(zip_of(members, zipfile.ZIP_STORED))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(damaged)
    local = info.header_offset
    central = data.find(b"PK\x01\x02")  # the central directory: find this member's entry
    while data[central + 46:central + 46 + len(damaged)] != damaged.encode():
        central = data.find(b"PK\x01\x02", central + 4)
    if how == "encrypted":
        data[local + 6] |= 0x1
        data[central + 8] |= 0x1
    else:
        for at in (local + 14, central + 16):  # CRC-32 in both headers
            data[at] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize("how", ["encrypted", "bad crc"])
def test_an_unreadable_member_is_that_logos_error_not_the_reports(how: str) -> None:
    members = {"a.png": b"one", "b.png": b"two", "c.png": b"three"}
    read = dict(read_zip(patched_zip(members, "b.png", how)))
    assert read["a.png"] == b"one" and read["c.png"] == b"three"
    assert isinstance(read["b.png"], ReportError)
    assert ("encrypted" if how == "encrypted" else "cannot be read") in str(read["b.png"])


@pytest.fixture
def filled(register: Register) -> Register:
    for seed in range(12):
        register.add_mark(to_bytes(make_mark(seed)), MarkMetadata(
            id=f"tm-{seed}", name=f"Mark {seed}", owner="Acme Ltd",
            nice_classes=[9] if seed % 2 else [25], status="registered"))
    return register


def test_report_has_top_matches_per_query_and_failures(filled: Register) -> None:
    queries = [("q3.png", to_bytes(make_mark(3))), ("q5.png", to_bytes(make_mark(5))),
               ("broken.png", b"not an image"), ("missing.png", OSError("cannot read"))]
    options = SearchOptions(filters=parse_filters(nice_classes="9"))
    seen: list[int] = []
    report = run_report(filled, queries, 3, options, seen.append)
    assert seen == [1, 2, 3, 4]
    assert [q.name for q in report.queries] == [n for n, _ in queries]
    q3, q5, broken, missing = report.queries
    assert q3.results[0].record.id == "tm-3" and len(q3.results) == 3
    assert all(9 in r.record.nice_classes for q in (q3, q5) for r in q.results)
    assert broken.error and missing.error == "cannot read" and not broken.results
    assert report.describe_options() == "nice_classes=[9], mode=composite"
    assert report.model_version == filled.embedder.version

    out = io.StringIO()
    write_csv(report, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 3 + 3 + 1 + 1
    assert rows[0]["query"] == "q3.png" and rows[0]["mark_id"] == "tm-3"
    assert rows[0]["risk"] == "high" and rows[0]["rank"] == "1"
    assert rows[-1]["query"] == "missing.png" and rows[-1]["error"] == "cannot read"

    pdf = io.BytesIO()
    write_pdf(report, pdf, filled.thumbnail)
    reader = PdfReader(io.BytesIO(pdf.getvalue()))
    assert len(reader.pages) == 4  # one section (page) per query
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Query {number} of 4" in text and filled.embedder.version in text
        assert "nice_classes=[9]" in text
    first = reader.pages[0].extract_text()
    assert "tm-3" in first and "HIGH" in first
    assert "Error" in reader.pages[2].extract_text()
    assert len(reader.pages[0].images) >= 2  # the query and its matches' thumbnails


@pytest.mark.parametrize("k", [10, 12])
def test_a_pdf_of_many_matches_per_logo_runs_over_pages(filled: Register, k: int) -> None:
    queries = [("q3.png", to_bytes(make_mark(3))), ("q7.png", to_bytes(make_mark(7)))]
    report = run_report(filled, queries, k, SearchOptions())
    assert all(len(q.results) == k for q in report.queries)
    pdf = io.BytesIO()
    write_pdf(report, pdf, filled.thumbnail)  # "Flowable too large" for k >= 10 before
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf.getvalue())).pages]
    assert len(pages) > len(queries)
    text = "\n".join(pages)
    for query in report.queries:  # every match is in the PDF
        for result in query.results:
            assert re.search(rf"\b{re.escape(result.record.id)}\b", text), result.record.id


def test_a_pdf_at_the_apis_largest_k_is_written(filled: Register) -> None:
    report = run_report(filled, [("q3.png", to_bytes(make_mark(3)))], 12, SearchOptions())
    query = report.queries[0]
    query.results = (query.results * 5)[:50]  # k = 50, the API's maximum, for one logo
    report.k = 50
    pdf = io.BytesIO()
    write_pdf(report, pdf, filled.thumbnail)
    pages = PdfReader(io.BytesIO(pdf.getvalue())).pages
    assert len(pages) >= 3  # about 9 matches a page: the table ran over pages
    assert "50" in pages[-1].extract_text()  # the last row is there


def test_a_chinese_pdf_and_chinese_names_in_any_pdf(filled: Register) -> None:
    from service.reports.pdf import CJK_FONT

    if not CJK_FONT.is_file():
        pytest.skip("Debian's fonts-wqy-zenhei is not installed (make fonts)")
    filled.add_mark(to_bytes(make_mark(40)), MarkMetadata(id="zh-1", name="乐百氏",
                                                           owner="重庆山城科技有限公司"))
    report = run_report(filled, [("q.png", to_bytes(make_mark(40)))], 2, SearchOptions())
    for language, words in (("zh", ("检索图样", "近似度", "风险等级", "高")),
                            ("en", ("Query 1 of 1", "Score", "HIGH"))):
        pdf = io.BytesIO()
        write_pdf(report, pdf, filled.thumbnail, language)
        text = PdfReader(io.BytesIO(pdf.getvalue())).pages[0].extract_text()
        assert all(w in text for w in words), (language, text)
        assert "乐百氏" in text and "重庆山城科技有限公司" in text  # set in the CJK font
