"""A mark as the records hold it: its metadata, where its image is, its vector ids and
its components; and what an upsert brings of a new image."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from service.marks.metadata import MarkMetadata
from service.security.access import is_published


@dataclass(frozen=True)
class ComponentRecord:
    """A component of a composite mark (service/marks/components.py) with its own vector."""

    vector_id: int
    kind: str
    box: tuple[int, int, int, int]  # x, y, w, h in the stored image's pixels


@dataclass
class MarkRecord:
    """A stored mark: its metadata, where its image is, and its vector ids (the whole
    mark's, and one per component of a composite mark)."""

    id: str
    vector_id: int
    content_hash: str
    image_key: str
    media_type: str
    name: str | None = None
    owner: str | None = None
    application_number: str | None = None
    registration_number: str | None = None
    nice_classes: list[int] = field(default_factory=list)
    vienna_codes: list[str] = field(default_factory=list)
    status: str | None = None
    filing_date: str | None = None
    source: str | None = None
    created_at: str = ""
    updated_at: str = ""
    components: list[ComponentRecord] = field(default_factory=list)
    colour: np.ndarray | None = field(default=None, repr=False)  # service/marks/colour.py
    text: str | None = None  # the verbal element as read by OCR (service/marks/ocr.py)

    @property
    def published(self) -> bool:
        return is_published(self.status)

    def all_vector_ids(self) -> list[int]:
        return [self.vector_id, *(c.vector_id for c in self.components)]

    def component(self, vector_id: int) -> ComponentRecord | None:
        """The component a vector id belongs to; None for the whole mark."""
        return next((c for c in self.components if c.vector_id == vector_id), None)

    def metadata(self) -> MarkMetadata:
        return MarkMetadata(
            id=self.id,
            name=self.name,
            owner=self.owner,
            application_number=self.application_number,
            registration_number=self.registration_number,
            nice_classes=self.nice_classes,
            vienna_codes=self.vienna_codes,
            status=self.status,
            filing_date=self.filing_date,
        )


@dataclass(frozen=True)
class NewImage:
    """The image side of an upsert: content identity and where the bytes were stored."""

    content_hash: str
    image_key: str
    media_type: str
    components: tuple[tuple[str, tuple[int, int, int, int]], ...] = ()  # (kind, box)
    colour: np.ndarray | None = None
    text: str | None = None
