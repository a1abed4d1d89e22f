"""Reading AppTest output and seeding the database, for the page tests.

Connecting and seeding connections, and the consent driver, live in tests/support (re-exported here
for the page tests)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from connhub.models import CheckerHeartbeat, Connection, OAuthFlow
from connhub.runtime import Runtime
from connhub.users import UserView
from tests.support.connect import add_connection, connect
from tests.support.consent import consent

__all__ = ["add_connection", "connect", "consent"]  # re-exported for the page tests

# ----------------------------------------------------------------------------- reading the page

_ESCAPE = re.compile(r"\\(.)")
_COLON = re.compile(r"(?<!\\)&#58;")  # pages.ui.markup writes an outside colon as a character reference
_BADGE = re.compile(r":(\w+)-badge\[(?::material/\w+: )?([^\]]*)\]")


_COLORED = re.compile(r":(?:red|orange|yellow|blue|green|violet|gray|grey|primary)\[(.*)\]", re.DOTALL)


def unescape(text: str) -> str:
    """What the reader sees of a Markdown string: no colour directive, no backslash escapes."""
    colored = _COLORED.fullmatch(text)
    if colored:
        text = colored[1]
    return _ESCAPE.sub(r"\1", _COLON.sub(":", text))


def texts(node: Any) -> list[str]:
    """Every piece of text a user can read in `node` (an AppTest or a block), unescaped."""
    values: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "success", "info", "warning",
                 "error", "toast"):
        values.extend(unescape(str(element.value)) for element in getattr(node, kind))
    return values


def page_text(node: Any) -> str:
    return "\n".join(texts(node))


def badges(node: Any) -> list[tuple[str, str]]:
    """(colour, label) of every st.badge in `node`."""
    return [(match[1], match[2]) for element in node.markdown for match in _BADGE.finditer(element.value)]


def blocks(node: Any) -> Iterator[Any]:
    for child in getattr(node, "children", {}).values():
        if type(child).__name__ in ("Block", "SpecialBlock", "Dialog", "Expander", "Tab", "Column", "Form",
                                    "Status", "ChatMessage"):
            yield child
            yield from blocks(child)


def keyed_block(at: AppTest, key: str) -> Any | None:
    """The container made with st.container(key=key), or None."""
    for block in blocks(at.main):
        block_id = getattr(getattr(block, "proto", None), "id", "") or ""
        if block_id.endswith(f"-{key}"):
            return block
    return None


def card(at: AppTest, provider: str) -> Any | None:
    return keyed_block(at, f"conn-{provider}")


def card_order(at: AppTest) -> list[str]:
    order = []
    for block in blocks(at.main):
        block_id = getattr(getattr(block, "proto", None), "id", "") or ""
        match = re.search(r"-conn-(\w+)$", block_id)
        if match:
            order.append(match[1])
    return order


def titles(at: AppTest) -> list[str]:
    return [unescape(str(element.value)) for element in at.title]


def toasts(at: AppTest) -> list[str]:
    return [unescape(str(toast.value)) for toast in at.toast]


def link_buttons(at: AppTest) -> dict[str, str]:
    return {element.proto.label: element.proto.url for element in at.get("link_button")}


def connect_urls(at: AppTest) -> dict[str, str]:
    """The «Подключить» / «Переподключить» link of each provider on the page, by provider key."""
    return {element.proto.id.rsplit("authorize-", 1)[-1]: element.proto.url for element in at.get("link_button")}


def page_links(at: AppTest) -> list[str]:
    return [element.proto.label for element in at.get("page_link")]


# ----------------------------------------------------------------------------- seeding the database

def beat(rt: Runtime, when: datetime) -> None:
    with rt.sessions() as session:
        session.add(CheckerHeartbeat(checker_id="test-checker", started_at=when, last_beat_at=when,
                                     interval_seconds=rt.settings.HEALTH_CHECK_INTERVAL_SECONDS))
        session.commit()


def connection_rows(rt: Runtime, user: UserView | None = None) -> list[Connection]:
    with rt.sessions() as session:
        query = select(Connection).order_by(Connection.id)
        if user is not None:
            query = query.where(Connection.user_id == user.id)
        return list(session.scalars(query))


def flow_count(rt: Runtime, *, consumed: bool | None = None) -> int:
    with rt.sessions() as session:
        query = select(func.count()).select_from(OAuthFlow)
        if consumed is True:
            query = query.where(OAuthFlow.consumed_at.is_not(None))
        elif consumed is False:
            query = query.where(OAuthFlow.consumed_at.is_(None))
        return session.scalar(query)
