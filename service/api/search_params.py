"""Search parameters of the search routes, made from the one declaration of the options
(service/search/option_fields.py ``SEARCH_FIELDS``).

The same fields arrive as form fields (``POST /v1/search`` and ``POST /v1/reports``, with
the images; plus the crop as four fields) and as query parameters
(``GET /v1/marks/{id}/similar``); both build one :class:`SearchOptions`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form, Query

from service.marks.filters import SearchFilters, parse_filters
from service.marks.views import Crop
from service.search.option_fields import SEARCH_FIELDS, options_from
from service.search.query import SearchOptions

_CROP_HELP = "Crop rectangle of the query image in pixels (all four or none)."
_CROP = ("crop_x", "crop_y", "crop_w", "crop_h")


def _dependency(kind: Callable[..., Any], with_crop: bool) -> Callable[..., SearchOptions]:
    """A FastAPI dependency whose parameters are ``SEARCH_FIELDS`` as ``kind`` (Form or
    Query) fields, returning the ``SearchOptions`` they make."""

    def options(**values: Any) -> SearchOptions:
        crop = Crop.of(*(values.pop(name) for name in _CROP)) if with_crop else None
        return options_from(values, crop)

    params = [inspect.Parameter(
        f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
        annotation=Annotated[f.type, kind(description=f.help, max_length=f.max_length)])
        for f in SEARCH_FIELDS]
    if with_crop:
        params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                     annotation=Annotated[int | None, kind(description=_CROP_HELP)])
                   for name in _CROP]
    options.__signature__ = inspect.Signature(params, return_annotation=SearchOptions)  # type: ignore[attr-defined]
    return options


#: the options of a search with an uploaded image (form fields, crop included)
form_options = _dependency(Form, with_crop=True)
#: the options of a search from a mark in the register (query parameters)
query_options = _dependency(Query, with_crop=False)


def filter_query(**values: Any) -> SearchFilters:
    """The search filters alone, as query parameters (``GET /v1/marks``)."""
    return parse_filters(**values)


filter_query.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                       annotation=Annotated[f.type, Query(description=f.help, max_length=1000)])
     for f in SEARCH_FIELDS if f.is_filter], return_annotation=SearchFilters)
