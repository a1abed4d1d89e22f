"""Issue 17, point 5: every phase that can take long writes its progress as it goes — the selection
with its image look-ups, the photo uploads, each batch of writes — with done of total and the time
left; a preview (dry run) too. The rows are recorded as the run writes them (no timing)."""

from __future__ import annotations

import re

import pytest

from connhub.models import SyncRunState
from connhub.ports.images import ImageBytes
from connhub.sync import run_record
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from tests.support.goods import add_products, ready_for_goods
from tests.support.images import image_bytes

LEFT = re.compile(r", осталось около \d+( мин( \d+ с)?| с| ч( \d+ мин)?)$")


@pytest.fixture
def written(monkeypatch) -> list[tuple[str, int, int]]:
    """(the phase as the row gets it, done, total) for every write of the run row."""
    rows: list[tuple[str, int, int]] = []
    save = run_record.RunRecorder.save

    def noting(self, **extra):
        rows.append((self.phase_line(), self.done, self.total))
        save(self, **extra)

    monkeypatch.setattr(run_record.RunRecorder, "save", noting)
    return rows


def test_selection_photos_and_writes_write_done_of_total_and_the_time_left(rt, alice, vk_goods, written):
    snapshot = ready_for_goods(rt, alice, vk_goods)
    ids = add_products(rt, snapshot, 250)
    images = {pid: image_bytes((300, 300), colour=(n % 250, 10, 10)) for n, pid in enumerate(ids[:60])}
    _run, outcome = run_now(rt, alice.id, trigger=Trigger.CLI, triggered_by="test",
                            images=lambda store, pid: ImageBytes.of(images[pid]) if pid in images else None)
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] == 254
    phases = [phase for phase, _, _ in written]

    selecting = [p for p in phases if p.startswith("Отбор товаров по правилам каталога (")]
    assert selecting[0] == "Отбор товаров по правилам каталога (0 из 254)"
    assert [p.split(",")[0] for p in selecting[1:3]] == ["Отбор товаров по правилам каталога (100 из 254)",
                                                         "Отбор товаров по правилам каталога (200 из 254)"]
    assert all(LEFT.search(p) for p in selecting[1:3]), selecting

    photos = [p for p in phases if p.startswith("Фото товаров (")]
    assert [p.split(",")[0] for p in photos[:3]] == ["Фото товаров (0 из 60)", "Фото товаров (25 из 60)",
                                                     "Фото товаров (50 из 60)"]
    assert LEFT.search(photos[1]) and LEFT.search(photos[2]), photos

    adding = [(p, done, total) for p, done, total in written if p.startswith("Добавление товаров: 254 (")]
    assert [(done, total) for _, done, total in adding[:3]] == [(0, 254), (25, 254), (50, 254)]
    assert adding[1][0].startswith("Добавление товаров: 254 (25 из 254), осталось около ") and LEFT.search(adding[1][0])
    assert not LEFT.search(phases[-1]) and "из 254)" not in phases[-1]  # the end line carries no progress


def test_a_preview_writes_its_selection_progress(rt, alice, vk_goods, written):
    snapshot = ready_for_goods(rt, alice, vk_goods)
    add_products(rt, snapshot, 150)
    _run, outcome = run_now(rt, alice.id, trigger=Trigger.CLI, triggered_by="test", dry_run=True,
                            images=lambda store, pid: None)
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] == 0
    assert any(p.startswith("Отбор товаров по правилам каталога (100 из 154), осталось около ") for p, _, _ in written)
