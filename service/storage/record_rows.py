"""How a mark record is laid out in the ``marks`` and ``components`` tables: the columns,
a row read back into a ``MarkRecord``, a record written as a row (list fields and boxes
as JSON text, the colour signature as float32 bytes)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from service.storage.mark_record import ComponentRecord, MarkRecord

COLUMNS = (
    "id, vector_id, name, owner, application_number, registration_number, nice_classes, "
    "vienna_codes, status, filing_date, content_hash, image_key, media_type, source, "
    "created_at, updated_at, colour, text"
)


def row_to_record(row: Any) -> MarkRecord:
    """A ``marks`` row (selected as ``COLUMNS``) as a record, without its components."""
    data = dict(row._mapping)
    data["nice_classes"] = json.loads(data["nice_classes"])
    data["vienna_codes"] = json.loads(data["vienna_codes"])
    if data["colour"] is not None:
        data["colour"] = np.frombuffer(bytes(data["colour"]), dtype=np.float32).copy()
    return MarkRecord(**data)


def component_of(row: Any) -> ComponentRecord:
    return ComponentRecord(int(row.vector_id), str(row.kind), tuple(json.loads(row.box)))


def store_row(conn: Connection, record: MarkRecord, exists: bool) -> None:
    """Insert ``record``'s row, or update it when the mark ``exists``."""
    row = {
        "id": record.id, "vector_id": record.vector_id, "name": record.name,
        "owner": record.owner, "application_number": record.application_number,
        "registration_number": record.registration_number,
        "nice_classes": json.dumps(record.nice_classes),
        "vienna_codes": json.dumps(record.vienna_codes), "status": record.status,
        "filing_date": record.filing_date, "content_hash": record.content_hash,
        "image_key": record.image_key, "media_type": record.media_type,
        "source": record.source, "created_at": record.created_at,
        "updated_at": record.updated_at,
        "colour": None if record.colour is None
        else np.asarray(record.colour, np.float32).tobytes(),
        "text": record.text,
    }
    if exists:
        assigned = ", ".join(f"{c} = :{c}" for c in row if c != "id")
        conn.execute(text(f"UPDATE marks SET {assigned} WHERE id = :id"), row)
    else:
        conn.execute(text(f"INSERT INTO marks({', '.join(row)}) "
                          f"VALUES ({', '.join(':' + c for c in row)})"), row)
