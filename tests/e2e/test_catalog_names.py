"""Issue 15.9: the catalog's long names are read in full — the group tree, the «Группа» box and the
«Поиск» placeholder — not clipped with «…» (visible on screen, not only present in the page)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .helpers import Stack
from .test_flow_catalog import REFRESH, UI, operator_evotor, settled, summary, widget  # noqa: F401

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings(
        "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"),
]

LONG_GROUP = "Футболки с логотипом"  # the sandbox catalog's longest group name
SHOTS_DIR = os.environ.get("CONNHUB_SHOTS_DIR")  # where a reviewer wants the screenshots (else test-artifacts)

# Whether an element's text (an input's value, else its placeholder) fits in the element's own box.
FITS = """el => {
    if (el.tagName === 'INPUT') {
        const style = getComputedStyle(el);
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = style.font;
        const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return ctx.measureText(el.value || el.placeholder).width <= room + 1;
    }
    return el.scrollWidth <= el.clientWidth + 1;
}"""


def shot(page: Page, stack: Stack, name: str) -> None:
    page.screenshot(path=str((Path(SHOTS_DIR) if SHOTS_DIR else stack.artifacts / "catalog") / f"{name}.png"),
                    full_page=True)


def fully_shown(page: Page, element: Locator) -> None:
    """On screen, inside its container's visible box, and not cut short."""
    expect(element).to_be_visible(timeout=UI)
    element.scroll_into_view_if_needed()
    assert element.evaluate(FITS), element.evaluate("el => el.outerHTML.slice(0, 300)")


def test_long_group_names_and_the_search_hint_are_read_in_full(stack: Stack, page: Page,
                                                               operator_evotor) -> None:  # noqa: F811
    page.goto(stack.app_url)
    settled(page)
    page.goto(f"{stack.app_url}/catalog")
    settled(page)
    refresh = widget(page, "catalog-refresh")
    expect(refresh).to_be_visible(timeout=UI)
    shot(page, stack, "catalog-before-the-first-refresh")
    if refresh.is_enabled():
        refresh.click()
    expect(summary(page)).to_have_text(re.compile(r"^В выгрузке: \d+ из \d+ товар"), timeout=REFRESH)
    expect(widget(page, "catalog-refresh")).to_be_enabled(timeout=REFRESH)
    settled(page)
    shot(page, stack, "catalog-loaded")

    tree = page.locator(".st-key-catalog-tree")
    fully_shown(page, tree.get_by_role("cell", name=re.compile(LONG_GROUP)))
    fully_shown(page, page.get_by_placeholder("Название, код, артикул или штрихкод"))

    box = page.locator(".st-key-catalog-group-0").get_by_role("combobox")
    box.click()
    page.get_by_role("option", name=re.compile(LONG_GROUP)).click()
    settled(page)
    shot(page, stack, "catalog-long-group-chosen")
    expect(box).to_have_value(re.compile(LONG_GROUP))
    fully_shown(page, box)
    expect(page.get_by_text(f"Группа «{LONG_GROUP}» и всё, что в ней", exact=False)).to_be_visible()
