"""The watch tests again with the records (and so watches and alerts) in a real
PostgreSQL server: the same SQL, the same answers."""

from __future__ import annotations

import pytest

from service.settings import Settings
from tests.service.watch.test_watches import (  # noqa: F401
    test_a_redrawn_copy_filed_after_the_watch_raises_one_alert,
    test_a_register_mark_can_be_watched_and_a_period_checked_again,
    test_alerts_on_filed_marks_are_hidden_from_those_who_may_not_see_them,
    test_names_are_unique_per_owner,
    test_one_alert_per_mark_until_its_image_changes,
    test_status_and_removal,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings
