"""Photo layouts never break either: the layout sweep's every shot x ratio x copy, on a photo shown as itself.

The checks (safe area, the camera's move, every word whole) are the layout sweep's own, run on the
cat photo, which the cut-out decision shows as a photo rather than a cut-out.
"""
from __future__ import annotations

import pytest

from adapters.base import SHOTS
from tests.adapters.test_layout_sweep import COPY, RATIOS, check_layout


@pytest.mark.parametrize("ratio", [*RATIOS, "9:16+captions"])
@pytest.mark.parametrize("shot", SHOTS)
def test_every_photo_layout_keeps_its_text_whole_and_inside_the_safe_area(real_photos, tmp_path, shot, ratio):
    for copy in COPY:
        assert check_layout(real_photos["chelsea"], shot, ratio, copy, tmp_path).style == "photo"
