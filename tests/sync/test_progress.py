"""Issue 17, point 5: the photo uploads write their progress with every batch, so a long first sync
is never silent at «Фото товаров (0 из N)»."""

from __future__ import annotations

from connhub.models import SyncRunState
from connhub.ports.images import ImageBytes
from connhub.sync import run_record
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from tests.support.goods import add_products, ready_for_goods
from tests.support.images import image_bytes


def test_photo_uploads_write_done_of_total_with_every_batch(rt, alice, vk_goods, monkeypatch):
    snapshot = ready_for_goods(rt, alice, vk_goods)
    ids = add_products(rt, snapshot, 60)
    images = {pid: image_bytes((300, 300), colour=(n % 250, 10, 10)) for n, pid in enumerate(ids)}
    written: list[str] = []
    save = run_record.RunRecorder.save

    def noting(self, **extra):
        written.append(self.phase)
        save(self, **extra)

    monkeypatch.setattr(run_record.RunRecorder, "save", noting)
    _run, outcome = run_now(rt, alice.id, trigger=Trigger.CLI, triggered_by="test",
                            images=lambda store, pid: ImageBytes.of(images[pid]) if pid in images else None)
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] >= 60
    photos = [phase for phase in written if phase.startswith("Фото товаров (")]
    assert photos[:3] == ["Фото товаров (0 из 60)", "Фото товаров (25 из 60)", "Фото товаров (50 из 60)"]
