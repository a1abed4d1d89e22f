"""What the sandbox communities hold, for a person: `/vk/communities` lists every community (its
goods switched on or off, how many items) with a link each, and `?group_id=` shows one community's
items as connhub's sync left them (shown, hidden, deleted). The index page links here."""

from __future__ import annotations

from html import escape
from typing import Any

from connhub.providers.vk.sandbox.constants import COMMUNITIES, VK
from connhub.providers.vk.sandbox.goods import GoodsState
from connhub.sandbox.pages import error_page, page
from connhub.sandbox.state import SandboxState
from connhub.sandbox.web import Request, Response, html_response

TITLE = "Товары сообществ песочницы"


def every_community(goods: GoodsState) -> list[dict[str, Any]]:
    """Each community with its items (deleted ones too), in the order of COMMUNITIES."""
    enabled = goods.snapshot_config()["communities"]
    return [{"group_id": group_id, "name": seed["name"], "goods_enabled": enabled[str(group_id)]["goods_enabled"],
             "items": goods.list_items(group_id)} for group_id, seed in COMMUNITIES.items()]


def _state(item: dict[str, Any]) -> str:
    if item["deleted"]:
        return "удалён"
    return "скрыт" if item["hidden"] else "виден"


def _overview(goods: GoodsState) -> str:
    rows = "".join(
        f'<li><a href="/vk/communities?group_id={entry["group_id"]}">{escape(entry["name"])}</a> '
        f'<span class="muted">({entry["group_id"]}; товары {"включены" if entry["goods_enabled"] else "выключены"}; '
        f'товаров: {sum(1 for item in entry["items"] if not item["deleted"])})</span></li>'
        for entry in every_community(goods))
    return page(TITLE, f"<h1>{TITLE}</h1><p>Что лежит в каждом сообществе ВКонтакте песочницы.</p><ul>{rows}</ul>"
                       '<p><a href="/">На главную песочницы</a></p>')


def _one(goods: GoodsState, group_id: int) -> str:
    name = COMMUNITIES[group_id]["name"]
    items = goods.list_items(group_id)
    rows = "".join(
        f"<tr><td>{item['id']}</td><td>{escape(item['title'])}</td><td>{escape(item['price']['text'])}</td>"
        f"<td>{escape(item['sku'])}</td><td>{len(item['photos'])}</td><td>{_state(item)}</td></tr>"
        for item in items)
    table = ('<table><tr><th>№</th><th>Название</th><th>Цена</th><th>Артикул</th><th>Фото</th><th>Состояние</th></tr>'
             f"{rows}</table>") if items else "<p>Товаров нет.</p>"
    return page(f"{name} · {TITLE}",
                f'<p class="muted"><a href="/vk/communities">{TITLE}</a></p>'
                f"<h1>{escape(name)}</h1><p class=\"muted\">Сообщество {group_id}, товаров: {len(items)}</p>{table}")


def communities_page(state: SandboxState, request: Request) -> Response:
    """GET /vk/communities[?group_id=N]: every community, or one community's items."""
    goods: GoodsState = state.extra(VK)
    raw = request.params.get("group_id")
    if raw is None:
        return html_response(_overview(goods))
    group_id = int(raw) if raw.isdigit() else None
    if group_id not in COMMUNITIES:
        return html_response(error_page("Нет такого сообщества ВКонтакте в песочнице."), 404)
    return html_response(_one(goods, group_id))
