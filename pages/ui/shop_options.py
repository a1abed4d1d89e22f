"""«Магазин ВКонтакте» on «Синхронизация»: the VK shop options (connhub.sync.shop_options), saved as
soon as they change: «Подборки во ВКонтакте», «Передавать остаток», «Модификации как варианты товара во
ВКонтакте» (with which mode applies and why) and the hand-edit policy."""

from __future__ import annotations

import streamlit as st

from connhub.runtime import Runtime
from connhub.sync import shop_options
from pages.ui.notices import queue_toast
from pages.ui.text import md

STOCK_KEY = "shop-send-stock"
ALBUMS_KEY = "shop-album-mode"
HAND_KEY = "shop-hand-edits"
VARIANTS_KEY = "shop-variants"


def _save(rt: Runtime, user_id: int) -> None:
    chosen = shop_options.ShopOptions(send_stock=bool(st.session_state.get(STOCK_KEY)),
                                      album_mode=shop_options.AlbumMode(st.session_state.get(ALBUMS_KEY, "off")),
                                      hand_edits=shop_options.HandEdits(st.session_state.get(HAND_KEY, "overwrite")),
                                      variants=bool(st.session_state.get(VARIANTS_KEY)))
    if shop_options.save_for(rt, user_id, chosen):
        queue_toast("Настройки магазина сохранены", ":material/storefront:")
    else:
        st.session_state.pop(STOCK_KEY, None)
        st.session_state.pop(ALBUMS_KEY, None)
        st.session_state.pop(HAND_KEY, None)
        st.session_state.pop(VARIANTS_KEY, None)
        queue_toast("Сначала сохраните настройки синхронизации", ":material/info:")


def section(rt: Runtime, user_id: int) -> None:
    options = shop_options.options_for(rt, user_id)
    st.subheader("Магазин ВКонтакте", anchor=False)
    st.caption("Эти настройки сохраняются сразу, без кнопки «Сохранить».")
    st.session_state.setdefault(STOCK_KEY, options.send_stock)
    st.session_state.setdefault(ALBUMS_KEY, options.album_mode.value)
    labels = {mode.value: label for mode, label in shop_options.ALBUM_MODE_LABELS.items()}
    st.radio(shop_options.ALBUMS_LABEL, options=list(labels), key=ALBUMS_KEY, format_func=labels.get,
             horizontal=True, on_change=_save, args=(rt, user_id))
    st.caption(shop_options.ALBUMS_HELP)
    note = shop_options.album_note_for(rt, user_id)
    if note and "не обновлены" in note:
        st.warning(md(note), icon=":material/warning:")
    elif note:
        st.caption(md(note))
    st.toggle(shop_options.STOCK_LABEL, key=STOCK_KEY, on_change=_save, args=(rt, user_id))
    st.caption(shop_options.STOCK_HELP)
    st.session_state.setdefault(VARIANTS_KEY, options.variants)
    st.toggle(shop_options.VARIANTS_LABEL, key=VARIANTS_KEY, on_change=_save, args=(rt, user_id))
    st.caption(shop_options.VARIANTS_HELP)
    variant_note, warn = shop_options.variant_note_for(rt, user_id)
    if warn:
        st.warning(md(variant_note), icon=":material/style:")
    else:
        st.caption(md(variant_note))
    st.session_state.setdefault(HAND_KEY, options.hand_edits.value)
    hand = {policy.value: label for policy, label in shop_options.HAND_EDIT_LABELS.items()}
    st.radio(shop_options.HAND_LABEL, options=list(hand), key=HAND_KEY, format_func=hand.get,
             on_change=_save, args=(rt, user_id))
    st.caption(shop_options.HAND_HELP)
    for line in shop_options.hand_note_for(rt, user_id)[:20]:
        st.warning(md(line), icon=":material/edit_note:")
