"""Text for the page: escaping (by type, see pages.ui.markup), times in the user's time zone, provider titles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from connhub.export import neutralise
from connhub.providers import PROVIDER_INFO
from pages.ui.markup import Markup, escape

DEFAULT_TIMEZONE = "Europe/Moscow"

__all__ = ["Markup", "escape", "format_time", "md", "provider_titles", "table_rows", "user_timezone"]

md = escape  # outside text as Markup (the name the pages have always used)


def table_rows(rows: Iterable[Mapping[str, object]]) -> list[dict[str, object]]:
    """Rows for st.dataframe, whose toolbar offers them as a CSV download: text cells that a
    spreadsheet would read as a formula are neutralised; numbers stay numbers."""
    return [{key: neutralise(value) if isinstance(value, str) else value for key, value in row.items()}
            for row in rows]


def user_timezone() -> ZoneInfo:
    name = st.context.timezone or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def format_time(moment: datetime | None) -> Markup:
    """«06.03.2026 14:30» in the user's time zone: the app's own digits, safe as markup."""
    if moment is None:
        return Markup("—")
    return Markup(moment.astimezone(user_timezone()).strftime("%d.%m.%Y %H:%M"))


def provider_titles(conjunction: str) -> str:
    """The registered providers' titles in one phrase, e.g. «Эвотор и ВКонтакте»."""
    titles = [info.title for info in PROVIDER_INFO.values()]
    return f" {conjunction} ".join(filter(None, [", ".join(titles[:-1]), *titles[-1:]]))
