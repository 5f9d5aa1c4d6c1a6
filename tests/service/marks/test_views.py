"""Query geometry: crops and the 8 dihedral views."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from service.marks.filters import QueryError
from service.marks.views import Crop, dihedral_views


def test_crop_parses_validates_and_cuts() -> None:
    image = Image.new("RGB", (100, 60), "white")
    image.paste((255, 0, 0), (10, 20, 40, 50))
    crop = Crop.parse("10,20,30,30")
    assert crop == Crop(10, 20, 30, 30)
    cut = np.asarray(crop.apply(image))
    assert cut.shape == (30, 30, 3) and (cut == [255, 0, 0]).all()
    assert Crop.of(None, None, None, None) is None
    for bad in ("10,20,30", "a,b,c,d", "1.5,2,3,4"):
        with pytest.raises(QueryError):
            Crop.parse(bad)
    with pytest.raises(QueryError, match="all of"):
        Crop.of(1, 2, None, 4)
    with pytest.raises(QueryError, match="outside"):
        Crop(80, 0, 30, 30).apply(image)
    with pytest.raises(QueryError):
        Crop.of(-1, 0, 10, 10)


def test_dihedral_views_are_the_8_distinct_symmetries() -> None:
    image = Image.new("L", (3, 2))
    image.putdata([1, 2, 3, 4, 5, 6])
    views = dihedral_views(image)
    assert len(views) == 8
    assert views[0].tobytes() == image.tobytes()
    assert len({(v.size, v.tobytes()) for v in views}) == 8
