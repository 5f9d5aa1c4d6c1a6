"""The shipped form of a trained network: the orientation signal and measured centres."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.checkpoint import load_checkpoint, save_checkpoint
from models.embedder import Embedder
from models.network import EmbeddingNet, ModelConfig
from models.signals import EMBEDDING, ORIENTATION
from scripts.training.signal_scales import main, top_stats, with_orientation
from tests.imagegen import write_marks


def test_top_stats_leave_the_query_out() -> None:
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 2, 3] * 30]
    mean, spread = top_stats(vectors, np.array([0, 2]))
    assert 0.0 < mean < 1.0 and spread >= 0.0


def test_with_orientation_adds_the_signal_and_its_centres(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pt"
    save_checkpoint(EmbeddingNet(ModelConfig(input_size=64)).eval(), plain, "plain")
    icons = write_marks(tmp_path / "icons", range(130))
    out = tmp_path / "shipped.pt"
    version = with_orientation(plain, icons, out, "shipped", queries=40)
    loaded = load_checkpoint(out)
    assert loaded.version == version and version.startswith("shipped@")
    config = loaded.config
    assert (config.input_mode, config.hog_cells, config.embed_weight) == ("ink+grey", 6, 0.7)
    assert 0.0 < config.hog_centre < 1.0 and -1.0 < config.embed_centre <= 1.0  # untrained: alike
    embedder = Embedder(out, device="cpu")
    assert [s.name for s in embedder.layout.signals] == [EMBEDDING, ORIENTATION]
    assert embedder.dim == config.dim + 6 * 6 * 9
    assert not (tmp_path / "shipped.unscaled.pt").exists()


def test_too_few_icons_is_one_error_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    plain = tmp_path / "plain.pt"
    save_checkpoint(EmbeddingNet(ModelConfig(input_size=64)).eval(), plain, "plain")
    write_marks(tmp_path / "icons", range(5))
    code = main(["--weights", str(plain), "--icons", str(tmp_path / "icons"),
                 "--out", str(tmp_path / "out.pt")])
    assert code == 2 and "need more than 100 icons" in capsys.readouterr().err
