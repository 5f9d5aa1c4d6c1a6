"""Reading marks back: a record by id (with the visibility rule), its stored image, and
the network inputs of its whole image and components, as ingest made them."""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.preprocess import prepare
from service.marks.components import Component
from service.marks.images import ImageLimits, decode_image
from service.marks.pipeline import PrepareSpec, component_inputs
from service.storage.image_store import ImageStore
from service.storage.mark_record import MarkRecord
from service.storage.records import RecordStore


class MarkNotFound(KeyError):
    """No mark with that id."""


class StoredMarks:
    """The register's marks as stored: records and images, read-only."""

    def __init__(self, records: RecordStore, images: ImageStore, spec: PrepareSpec) -> None:
        self.records = records
        self.images = images
        self.spec = spec

    def get(self, mark_id: str, include_unpublished: bool = True) -> MarkRecord:
        """The mark's record; MarkNotFound if there is none, or if it is unpublished and
        the caller may not see unpublished marks (the same answer: no existence leak)."""
        record = self.records.get(mark_id)
        if record is None or not (include_unpublished or record.published):
            raise MarkNotFound(mark_id)
        return record

    def image(self, mark_id: str, include_unpublished: bool = True) -> tuple[bytes, str]:
        record = self.get(mark_id, include_unpublished)
        return self.images.read(record.image_key, record.media_type), record.media_type

    def thumbnail(self, mark_id: str, include_unpublished: bool = True) -> bytes:
        record = self.get(mark_id, include_unpublished)
        return self.images.thumb_path(record.image_key).read_bytes()

    def stored_spec(self, data: bytes) -> PrepareSpec:
        """Stored images were accepted once already: only the size limit is relaxed."""
        return PrepareSpec(
            self.spec.input_size,
            self.spec.input_mode,
            ImageLimits(max(len(data), 1), self.spec.limits.max_pixels, self.spec.limits.max_side,
                        self.spec.limits.svg),
            self.spec.thumbnail_size,
            self.spec.read_text,
        )

    def stored_image(self, record: MarkRecord) -> Image.Image:
        data = self.images.read(record.image_key, record.media_type)
        return decode_image(data, self.stored_spec(data).limits).image

    def stored_inputs(self, record: MarkRecord, wanted: set[int] | None = None
                      ) -> list[tuple[int, np.ndarray]]:
        """(vector id, network input) for a stored mark's whole image and its components
        (cut by their recorded boxes), limited to ``wanted`` ids when given."""
        image = self.stored_image(record)
        out: list[tuple[int, np.ndarray]] = []
        if wanted is None or record.vector_id in wanted:
            out.append((record.vector_id,
                        prepare(image, self.spec.input_size, self.spec.input_mode)))
        parts = [c for c in record.components if wanted is None or c.vector_id in wanted]
        inputs = component_inputs(image, self.spec, [Component(c.kind, c.box) for c in parts])
        out += [(c.vector_id, model_input) for c, (_, model_input) in zip(parts, inputs,
                                                                          strict=True)]
        return out
