"""One FAISS thread for index tests: on a small shared machine, OpenMP threads spinning
against other processes made training several times slower than one thread."""

from __future__ import annotations

from collections.abc import Iterator

import faiss
import pytest


@pytest.fixture(scope="package", autouse=True)
def one_faiss_thread() -> Iterator[None]:
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)
