"""The search options users can set, declared once: the CLI's flags (service/cli/search.py)
and the API's form and query fields (service/api/search_params.py) are both made from
``SEARCH_FIELDS``, so the two cannot drift apart. The crop is the one option each face
takes in its own shape (``--crop x,y,w,h``; four form fields)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.marks.colour import SearchMode
from service.marks.filters import parse_filters
from service.marks.views import Crop
from service.search.query import SearchOptions


@dataclass(frozen=True)
class OptionField:
    """One search option: its name (a form field, a query parameter, ``--name-with-dashes``
    on the command line), its type, default and help."""

    name: str
    type: Any
    default: Any
    help: str
    max_length: int | None = None
    is_filter: bool = False  # one of service/marks/filters.py ``parse_filters``'s arguments

    @property
    def flag(self) -> str:
        """The CLI flag (a switch for booleans: ``--x/--no-x`` when it defaults on)."""
        dashed = "--" + self.name.replace("_", "-")
        if self.type is bool and self.default:
            return f"{dashed}/--no-{dashed[2:]}"
        return dashed


def _filter(name: str, help: str) -> OptionField:
    """A filter: a text option that ``parse_filters`` reads."""
    return OptionField(name, str | None, None, help, is_filter=True)


SEARCH_FIELDS: tuple[OptionField, ...] = (
    _filter("nice_classes", "Comma list; a mark matches if it shares any class, e.g. 9,42."),
    _filter("vienna_codes",
            "Comma list of Vienna code prefixes, e.g. 26 or 26.01 or 26.01.03."),
    _filter("status",
            "Comma list of statuses: filed, published, registered, expired, refused."),
    _filter("filed_from", "Earliest filing date, YYYY-MM-DD."),
    _filter("filed_to", "Latest filing date, YYYY-MM-DD."),
    _filter("owner", "Part of the owner's name, case-insensitive."),
    OptionField("rotation_tolerant", bool, False,
                "Also query with the 8 rotations and reflections."),
    OptionField("mode", SearchMode, SearchMode.composite,
                "shape (colour-blind), colour (colour weighs in) or composite (both; "
                "default)."),
    OptionField("text", str | None, None,
                "The query's words as typed; marks with similar words rank higher. Without "
                "it the words are read from the query image (OCR).", max_length=200),
    OptionField("read_text", bool, True,
                "Read the query image's words with OCR when no text is typed (default on)."),
)

FIELD_NAMES = tuple(f.name for f in SEARCH_FIELDS)
FILTER_NAMES = tuple(f.name for f in SEARCH_FIELDS if f.is_filter)


def options_from(values: dict[str, Any], crop: Crop | None = None,
                 include_unpublished: bool = False) -> SearchOptions:
    """The ``SearchOptions`` of ``values`` (one entry per ``SEARCH_FIELDS`` name; missing
    ones take their defaults); QueryError when a filter does not validate."""
    given = {f.name: values.get(f.name, f.default) for f in SEARCH_FIELDS}
    filters = parse_filters(**{name: given[name] for name in FILTER_NAMES})
    return SearchOptions(filters=filters, crop=crop,
                         rotation_tolerant=bool(given["rotation_tolerant"]),
                         mode=SearchMode(given["mode"]), text=given["text"],
                         read_text=bool(given["read_text"]),
                         include_unpublished=include_unpublished)
