"""bench/photos.py at a small size: a real sync run's peak memory does not grow with its images."""

from __future__ import annotations

import subprocess
import sys

from bench import photos
from connhub.config import PROJECT_ROOT


def test_the_photo_bench_runs_at_a_tiny_size():
    done = subprocess.run([sys.executable, "bench/photos.py", "--images", "3", "--image-bytes", "100000"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 items, 3 with a photo" in done.stdout and "peak RSS" in done.stdout


def test_a_runs_peak_memory_does_not_grow_by_each_images_size():
    # 4.8 MB images, as Evotor allows (up to 5 242 800 bytes): 14 more of them used to add ~70 MB.
    few = photos.run(2, 4_800_000, None)
    many = photos.run(16, 4_800_000, None)
    assert few["exit"] == 0 and many["exit"] == 0, str(many["log"])
    assert many["with_photo"] == 16
    assert float(many["peak_rss_mb"]) - float(few["peak_rss_mb"]) < 25, (few["peak_rss_mb"], many["peak_rss_mb"])
