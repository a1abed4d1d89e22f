"""Issue 17, point 4: the confirmation's numbers (on sale, hidden, skipped with each reason) come
from the run's own computation and match what the run then does, refused products included; the
outcome reads «Готово с ошибками» with the refused share. On SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from connhub.models import SyncRunState
from connhub.ports.images import ImageBytes
from connhub.sync import service, texts
from connhub.sync.runs import Trigger
from connhub.sync.status import sync_status
from tests.support.connect import make_user
from tests.support.goods import add_products, by_sku, change_product, last_run, ready_for_goods
from tests.support.images import image_bytes

ZERO = "Нулевая цена: по настройке такие товары не выгружаются"


def test_the_confirmation_and_the_run_agree_on_sale_hidden_skipped_and_refused(db_rt, vk_goods):
    rt = db_rt
    alice = make_user(rt, "alice")
    snapshot = ready_for_goods(rt, alice, vk_goods)
    bulk = add_products(rt, snapshot, 20)
    for pid in bulk[:3]:  # priced zero: skipped («не выгружать» is the default)
        change_product(rt, snapshot, pid, price=Decimal(0))
    for pid in bulk[3:7]:  # not for sale: published hidden
        change_product(rt, snapshot, pid, allow_to_sell=False)
    refused = set(bulk[7:9])  # no photo while the community requires one: VK refuses them
    vk_goods.configure(require_photo=True)
    images = {pid: image_bytes((300, 300), colour=(n * 9 % 250, 10, 10)) for n, pid in enumerate(sorted(
        [*bulk, "p-sencha", "p-gyokuro", "p-assam", "p-latte"])) if pid not in refused}

    text = service.confirmation_text(rt, alice.id, sync_status(rt, alice.id))
    # the catalog's 4 sellable teas and p-espresso (zero) + 20: 4 + 13 on sale, 4 hidden; espresso and 3 skipped
    assert ("будут выгружены 21 товар (17 в продаже, 4 скрытыми (не для продажи); "
            f"не выгружаются 4 товара: {ZERO} — 4)") in text, text

    _run, outcome = service.run_now(rt, alice.id, trigger=Trigger.CLI, triggered_by="test",
                                    images=lambda store, pid: ImageBytes.of(images[pid]) if pid in images else None)
    assert outcome.state == SyncRunState.FINISHED
    assert outcome.plan["forecast"] == {"on_sale": 17, "hidden": 4, "skipped": {ZERO: 4}}  # the confirmation's
    assert outcome.counts["added"] == 19 and outcome.counts["failed"] == 2 and outcome.counts["skipped"] == 4
    assert {f["product_id"] for f in outcome.failures} == refused and all(f["reason"] for f in outcome.failures)
    assert outcome.plan["result"] == {"on_sale": 15, "hidden": 4, "skipped": {ZERO: 4}}

    items = [item for found in by_sku(vk_goods).values() for item in found if not item["deleted"]]
    assert sum(1 for item in items if not item["hidden"]) == 15  # what the run says is on sale
    assert sorted(item["sku"] for item in items if item["hidden"]) == sorted(bulk[3:7])

    run = last_run(rt)
    assert texts.outcome_label(run.state, run.counts["failed"]) == "Готово с ошибками"
    assert texts.result_text(run.plan, run.counts) == (
        f"в продаже 15, скрыто (не для продажи) 4; не выгружено 4: {ZERO} — 4; отказано: 2 товара из 21 (9,5 %)")
    assert run.phase.startswith("Готово с ошибками: в продаже 15, скрыто (не для продажи) 4")
