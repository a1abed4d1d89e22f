"""bench/photos.py's measurement as a behaviour: a real sync run's peak memory does not grow with its images
(the tiny smoke run of the script itself is in tests/test_benches.py)."""

from __future__ import annotations

from bench import photos


def test_a_runs_peak_memory_does_not_grow_by_each_images_size():
    # 4.8 MB images, as Evotor allows (up to 5 242 800 bytes): 14 more of them used to add ~70 MB.
    few = photos.run(2, 4_800_000, None)
    many = photos.run(16, 4_800_000, None)
    assert few["exit"] == 0 and many["exit"] == 0, str(many["log"])
    assert many["with_photo"] == 16
    assert float(many["peak_rss_mb"]) - float(few["peak_rss_mb"]) < 25, (few["peak_rss_mb"], many["peak_rss_mb"])
