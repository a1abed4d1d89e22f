"""«Магазин ВКонтакте» on «Синхронизация»: the VK shop options (connhub.sync.shop_options), saved as
soon as they change. Today «Передавать остаток»."""

from __future__ import annotations

import streamlit as st

from connhub.runtime import Runtime
from connhub.sync import shop_options
from pages.ui.notices import queue_toast

STOCK_KEY = "shop-send-stock"


def _save_stock(rt: Runtime, user_id: int) -> None:
    wanted = bool(st.session_state.get(STOCK_KEY))
    if shop_options.save_options(rt.sessions, user_id, shop_options.ShopOptions(send_stock=wanted)):
        queue_toast("Остаток передаётся во ВКонтакте" if wanted else "Остаток во ВКонтакте не передаётся",
                    ":material/inventory:")
    else:
        st.session_state.pop(STOCK_KEY, None)
        queue_toast("Сначала сохраните настройки синхронизации", ":material/info:")


def section(rt: Runtime, user_id: int) -> None:
    options = shop_options.get_options(rt.sessions, user_id)
    st.subheader("Магазин ВКонтакте", anchor=False)
    st.session_state.setdefault(STOCK_KEY, options.send_stock)
    st.toggle(shop_options.STOCK_LABEL, key=STOCK_KEY, on_change=_save_stock, args=(rt, user_id))
    st.caption(shop_options.STOCK_HELP)
