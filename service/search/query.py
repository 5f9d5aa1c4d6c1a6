"""What a search asks for: filters (``service.marks.filters``), a crop of the query image
(``service.marks.views``), the mode, rotation tolerance and words."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.marks.colour import SearchMode
from service.marks.filters import SearchFilters
from service.marks.views import Crop


@dataclass(frozen=True)
class SearchOptions:
    """Everything about a search except the query image and k."""

    filters: SearchFilters = field(default_factory=SearchFilters)
    mode: SearchMode = SearchMode.composite
    crop: Crop | None = None
    rotation_tolerant: bool = False
    exclude_ids: frozenset[str] = frozenset()  # e.g. the mark a "similar to" search starts from
    text: str | None = None  # the query's words as typed; None: read them from the image
    read_text: bool = True  # read the query image's words (OCR) when none are typed
    # unpublished (filed) marks are found only when asked: the API asks for examiners and
    # admins, the CLI (an operator on the data dir) always; see service/security/access.py
    include_unpublished: bool = False
