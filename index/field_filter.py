"""Conditions over the scalar fields a vector store keeps beside each vector, in no
engine's syntax.

The register says what must hold (``status not in [...]``, ``nice contains any of
[9, 42]``, ``filed >= "2020-01-01"``); a store that filters natively turns the
conditions into its own language (Milvus: ``index.milvus_store.milvus_expression``).
A FAISS store keeps no fields and filters by id sets only, so it refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scalar = str | int
FieldOp = Literal["in", "not in", "contains any", ">=", "<=", "!="]


@dataclass(frozen=True)
class FieldCondition:
    """One condition: ``field op value``; ``value`` is a tuple for the set operators."""

    field: str
    op: FieldOp
    value: Scalar | tuple[Scalar, ...]


FieldFilter = tuple[FieldCondition, ...]  # all must hold; () restricts nothing
