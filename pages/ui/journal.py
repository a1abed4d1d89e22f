"""The journal's table, shared by «Журнал» and each service page (escaped: it holds outside text)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from connhub.journal import service
from connhub.journal.service import EventView
from pages.ui.session import runtime
from pages.ui.text import Markup, format_time, table_rows


def journal_table(events: Sequence[EventView], *, key: str) -> None:
    if not events:
        st.caption("Событий пока нет.")
        return
    st.dataframe(
        table_rows({"Когда": format_time(event.at), "Сервис": event.service_title, "Событие": event.kind_title,
                    "Кто": event.actor, "Что произошло": event.summary} for event in events),
        hide_index=True, key=key,
    )


def connection_journal(user_id: int, connection_id: int) -> None:
    """The last events of one connection, for its service page: one escaped line each."""
    events = service.events_for(runtime(), user_id, connection_id=connection_id, limit=10)
    st.subheader("Журнал подключения", anchor=False)
    if not events:
        st.caption("Событий пока нет.")
    for event in events:
        st.markdown(Markup("{} · {} · {}").format(format_time(event.at), event.actor, event.summary))
    st.page_link("pages/journal.py", label="Весь журнал", icon=":material/history:")
