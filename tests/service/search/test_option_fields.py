"""One declaration of the search options: the CLI's flags and the API's fields are made
from it, so they cannot drift apart."""

from __future__ import annotations

import inspect

import pytest
import typer

from service.api.search_params import form_options, query_options
from service.cli import app
from service.marks.colour import SearchMode
from service.marks.filters import QueryError
from service.marks.views import Crop
from service.search.option_fields import FIELD_NAMES, options_from


def _cli_params(command: str) -> set[str]:
    group = typer.main.get_command(app)
    return {p.name for p in group.commands[command].params}  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["search", "report"])
def test_every_option_is_a_flag_of_the_cli(command: str) -> None:
    assert set(FIELD_NAMES) <= _cli_params(command)


def test_every_option_is_a_field_of_the_api() -> None:
    form = set(inspect.signature(form_options).parameters)
    query = set(inspect.signature(query_options).parameters)
    assert form == set(FIELD_NAMES) | {"crop_x", "crop_y", "crop_w", "crop_h"}
    assert query == set(FIELD_NAMES)


def test_options_are_built_and_validated_in_one_place() -> None:
    options = options_from({"nice_classes": "9,42", "mode": "shape", "read_text": False},
                           Crop(1, 2, 30, 40), include_unpublished=True)
    assert options.filters.nice_classes == [9, 42] and options.mode is SearchMode.shape
    assert options.crop == Crop(1, 2, 30, 40) and not options.read_text
    assert options.include_unpublished and not options.rotation_tolerant
    defaults = options_from({})
    assert defaults.mode is SearchMode.composite and defaults.read_text
    with pytest.raises(QueryError):
        options_from({"filed_from": "yesterday"})
