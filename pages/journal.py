"""«Журнал»: what happened to the user's connections, sync and catalog; filters, newest first, CSV."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from connhub.journal import service
from connhub.models import utcnow
from pages.ui.journal import journal_table
from pages.ui.session import require_user, runtime
from pages.ui.text import Markup

PERIODS = {"24 часа": timedelta(days=1), "7 дней": timedelta(days=7), "30 дней": timedelta(days=30),
           "90 дней": timedelta(days=90), "Всё время": None}

user = require_user()
rt = runtime()
st.title("Журнал", anchor=False)
st.caption("Кто и что сделал, что нашли проверки и чем закончились запуски — новые события сверху.")

services = service.service_titles()
left, middle, right = st.columns(3)
chosen_services = left.multiselect("Сервис", list(services), format_func=services.__getitem__,
                                   key="journal-services", placeholder="Все")
chosen_kinds = middle.multiselect("Событие", list(service.KIND_TITLES),
                                  format_func=service.KIND_TITLES.__getitem__, key="journal-kinds",
                                  placeholder="Все")
period = right.selectbox("Период", list(PERIODS), index=1, key="journal-period")
span = PERIODS[period]

events = service.events_for(rt, user.id, services=chosen_services, kinds=chosen_kinds,
                            since=utcnow() - span if span is not None else None)

journal_table(events, key="journal-all")
if len(events) >= service.LIMIT:
    st.caption(Markup("Показаны последние {} событий; сузьте период или фильтры.").format(service.LIMIT))
st.download_button("Скачать CSV", data=service.csv_bytes(events), file_name="connhub-journal.csv",
                   mime="text/csv", icon=":material/download:", disabled=not events, key="journal-csv")
