"""Search parameters shared by the search routes: filters, crop, rotation, mode, words.

The same fields arrive as form fields (``POST /v1/search``, with the image) and as query
parameters (``GET /v1/marks/{id}/similar``); both build one :class:`SearchOptions`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query

from service.marks.colour import SearchMode
from service.search.query import Crop, SearchOptions, parse_filters

_DOCS = {
    "nice_classes": "Comma list; a mark matches if it shares any class, e.g. 9,42.",
    "vienna_codes": "Comma list of Vienna code prefixes, e.g. 26 or 26.01 or 26.01.03.",
    "status": "Comma list of statuses: filed, published, registered, expired, refused.",
    "filed_from": "Earliest filing date, YYYY-MM-DD.",
    "filed_to": "Latest filing date, YYYY-MM-DD.",
    "owner": "Part of the owner's name, case-insensitive.",
    "crop": "Crop rectangle of the query image in pixels (all four or none).",
    "rotation_tolerant": "Also query with the 8 rotations and reflections.",
    "mode": "shape (colour-blind), colour (colour weighs in) or composite (both; default).",
    "text": "The query's words as typed; marks with similar words rank higher. "
            "Without it the words are read from the query image (OCR).",
    "read_text": "Read the query image's words with OCR when no text is typed (default on).",
}


def _options(nice_classes: str | None, vienna_codes: str | None, status: str | None,
             filed_from: str | None, filed_to: str | None, owner: str | None,
             crop: tuple[int | None, ...], rotation_tolerant: bool, mode: SearchMode,
             text: str | None, read_text: bool) -> SearchOptions:
    filters = parse_filters(nice_classes=nice_classes, vienna_codes=vienna_codes, status=status,
                            filed_from=filed_from, filed_to=filed_to, owner=owner)
    return SearchOptions(filters=filters, crop=Crop.of(*crop), rotation_tolerant=rotation_tolerant,
                         mode=mode, text=text, read_text=read_text)


def form_options(
    nice_classes: Annotated[str | None, Form(description=_DOCS["nice_classes"])] = None,
    vienna_codes: Annotated[str | None, Form(description=_DOCS["vienna_codes"])] = None,
    status: Annotated[str | None, Form(description=_DOCS["status"])] = None,
    filed_from: Annotated[str | None, Form(description=_DOCS["filed_from"])] = None,
    filed_to: Annotated[str | None, Form(description=_DOCS["filed_to"])] = None,
    owner: Annotated[str | None, Form(description=_DOCS["owner"])] = None,
    crop_x: Annotated[int | None, Form(description=_DOCS["crop"])] = None,
    crop_y: Annotated[int | None, Form(description=_DOCS["crop"])] = None,
    crop_w: Annotated[int | None, Form(description=_DOCS["crop"])] = None,
    crop_h: Annotated[int | None, Form(description=_DOCS["crop"])] = None,
    rotation_tolerant: Annotated[bool, Form(description=_DOCS["rotation_tolerant"])] = False,
    mode: Annotated[SearchMode, Form(description=_DOCS["mode"])] = SearchMode.composite,
    text: Annotated[str | None, Form(max_length=200, description=_DOCS["text"])] = None,
    read_text: Annotated[bool, Form(description=_DOCS["read_text"])] = True,
) -> SearchOptions:
    return _options(nice_classes, vienna_codes, status, filed_from, filed_to, owner,
                    (crop_x, crop_y, crop_w, crop_h), rotation_tolerant, mode, text, read_text)


def query_options(
    nice_classes: Annotated[str | None, Query(description=_DOCS["nice_classes"])] = None,
    vienna_codes: Annotated[str | None, Query(description=_DOCS["vienna_codes"])] = None,
    status: Annotated[str | None, Query(description=_DOCS["status"])] = None,
    filed_from: Annotated[str | None, Query(description=_DOCS["filed_from"])] = None,
    filed_to: Annotated[str | None, Query(description=_DOCS["filed_to"])] = None,
    owner: Annotated[str | None, Query(description=_DOCS["owner"])] = None,
    rotation_tolerant: Annotated[bool, Query(description=_DOCS["rotation_tolerant"])] = False,
    mode: Annotated[SearchMode, Query(description=_DOCS["mode"])] = SearchMode.composite,
    text: Annotated[str | None, Query(max_length=200, description=_DOCS["text"])] = None,
    read_text: Annotated[bool, Query(description=_DOCS["read_text"])] = True,
) -> SearchOptions:
    return _options(nice_classes, vienna_codes, status, filed_from, filed_to, owner,
                    (None, None, None, None), rotation_tolerant, mode, text, read_text)
