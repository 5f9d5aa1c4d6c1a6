"""The API over a register whose records are in a real PostgreSQL server: the API's own
tests for marks, search and keeping filed marks from the public, collected again here
where ``settings`` and ``seeded`` (below) put the records in PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.embedder import Embedder
from service.register import Register
from service.settings import Settings
from tests.service.api.conftest import SEEDS
from tests.service.api.test_access import (  # noqa: F401
    admin,
    examiner,
    public,
    test_counts_leave_filed_marks_out_for_the_public,
    test_filters_and_words_cannot_reach_filed_marks,
    test_record_image_thumbnail_and_similar_are_404_for_the_public,
    test_search_hides_filed_marks_from_the_public_only,
)
from tests.service.api.test_marks import (  # noqa: F401
    test_changes_survive_a_restart,
    test_create_then_replace_with_a_new_image,
    test_two_marks_can_share_one_image,
)
from tests.service.api.test_search import (  # noqa: F401
    test_search_response_shape_and_top_1,
    test_search_results_carry_metadata,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def seeded(settings: Settings, seed_folder: Path, embedder: Embedder,
           make_client: Callable[..., TestClient]) -> TestClient:
    """The 14 seed marks ingested into this test's PostgreSQL records, then an app."""
    with Register(settings, embedder) as register:
        summary = register.ingest_folder(seed_folder)
    assert (summary.added, summary.failed) == (len(SEEDS) + 2, 0)
    return make_client()


def test_the_app_reports_its_records_in_postgresql(seeded: TestClient) -> None:
    body = seeded.get("/v1/register").json()
    assert body["records"] == "postgresql" and body["marks"] == len(SEEDS) + 2
