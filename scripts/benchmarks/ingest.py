"""End-to-end ingest throughput: the shipped pipeline against a plain ResNet-50 one.

Both read the same files from disk. Ours is ``Register.ingest_folder`` into a fresh data
dir (decode workers, components, OCR, thumbnails, batched embedding, records, index);
the reference is what a typical image-search stack does: a torchvision ``DataLoader``
(same number of workers) with Resize/CenterCrop/Normalize into a ResNet-50 (random
weights: nothing may be downloaded, and weights do not change the cost), vectors into a
flat FAISS index. Neither counts loading its model.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.demo import write_demo_folder
from service.marks.pipeline import iter_image_files


def real_marks(folder: Path, count: int) -> list[Path]:
    """``count`` rendered Simple Icons marks (evenly spread), rendered once into ``folder``."""
    images, asked = folder / "images", folder / "rendered-for.txt"
    if not asked.exists() or int(asked.read_text()) < count:
        shutil.rmtree(folder, ignore_errors=True)
        write_demo_folder(folder, limit=count)
        asked.write_text(str(count))
    return sorted(iter_image_files(images))[:count]


def ours(files: Sequence[Path], workers: int = 2, read_text: bool = True) -> dict[str, float]:
    """Marks per second of one ingest of ``files`` into a new register."""
    from service.register import Register
    from service.settings import Settings

    with tempfile.TemporaryDirectory(prefix="tmsearch-bench-") as tmp:
        source = Path(tmp) / "marks"
        source.mkdir()
        for path in files:
            (source / path.name).symlink_to(path.resolve())
        settings = Settings(data_dir=Path(tmp) / "data", workers=workers, read_text=read_text)
        with Register(settings) as register:
            register.embedder.embed_prepared(np.zeros(
                (2, register.embedder.config.in_channels, register.embedder.config.input_size,
                 register.embedder.config.input_size), np.uint8))  # warm the model up
            summary = register.ingest_folder(source)
            vectors = len(register.store)
    return {"marks_per_s": summary.added / summary.seconds, "seconds": summary.seconds,
            "marks": summary.added, "failed": summary.failed,
            "vectors_per_mark": vectors / max(1, summary.added)}


def reference_model() -> tuple[Any, Any]:
    """The peer stack's embedder: a torchvision ResNet-50 without its classifier (random
    weights: nothing may be downloaded, and weights do not change the cost) and its usual
    ImageNet preprocessing. Ingest and query references both use it."""
    import torch
    from torchvision import models, transforms

    net = models.resnet50(weights=None)
    net.fc = torch.nn.Identity()
    transform = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    return net.eval(), transform


def reference(files: Sequence[Path], workers: int = 2, batch_size: int = 32) -> dict[str, float]:
    """Marks per second of the plain torchvision ResNet-50 pipeline on ``files``."""
    import faiss
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset

    net, transform = reference_model()

    class Files(Dataset):
        def __len__(self) -> int:
            return len(files)

        def __getitem__(self, i: int) -> torch.Tensor:
            with Image.open(files[i]) as im:
                return transform(im.convert("RGB"))

    index = faiss.IndexFlatIP(2048)
    loader = DataLoader(Files(), batch_size=batch_size, num_workers=workers,
                        persistent_workers=False)
    with torch.inference_mode():
        net(torch.zeros(2, 3, 224, 224))  # warm up
        started = time.perf_counter()
        for batch in loader:
            vectors = torch.nn.functional.normalize(net(batch), dim=1).numpy()
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        seconds = time.perf_counter() - started
    return {"marks_per_s": len(files) / seconds, "seconds": seconds, "marks": len(files)}
