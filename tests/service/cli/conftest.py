"""CLI fixtures: ``tmsearch`` in-process (Typer's CliRunner) on a fresh data dir, with the
session's model instead of a new load per command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from models.embedder import Embedder
from service.cli import app

Cli = Callable[..., Result]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TMSEARCH_* settings leak in from the environment; decode inline unless asked."""
    import os

    for name in list(os.environ):
        if name.startswith("TMSEARCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TMSEARCH_WORKERS", "0")


@pytest.fixture
def model_loads(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> list[tuple[Any, ...]]:
    """Every command reuses the session's model instead of loading it again (speed);
    the arguments it would have loaded the model with are recorded."""
    calls: list[tuple[Any, ...]] = []

    def fake_embedder(*args: Any, **kwargs: Any) -> Embedder:
        calls.append(args + tuple(kwargs.values()))
        return embedder

    monkeypatch.setattr("service.register.Embedder", fake_embedder)
    return calls


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cli(data_dir: Path, model_loads: list[tuple[Any, ...]]) -> Cli:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, ["--data-dir", str(data_dir), "--device", "cpu", *args])

    return run
