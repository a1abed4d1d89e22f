"""Reading AppTest output and seeding the database, for the page tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from connhub import oauth
from connhub.crypto import Secret
from connhub.models import CheckerHeartbeat, Connection, OAuthFlow, Status
from connhub.runtime import Runtime
from connhub.users import UserView

# ----------------------------------------------------------------------------- reading the page

_ESCAPE = re.compile(r"\\(.)")
_BADGE = re.compile(r":(\w+)-badge\[(?::material/\w+: )?([^\]]*)\]")


_COLORED = re.compile(r":(?:red|orange|yellow|blue|green|violet|gray|grey|primary)\[(.*)\]", re.DOTALL)


def unescape(text: str) -> str:
    """What the reader sees of a Markdown string: no colour directive, no backslash escapes."""
    colored = _COLORED.fullmatch(text)
    if colored:
        text = colored[1]
    return _ESCAPE.sub(r"\1", text)


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


def page_links(at: AppTest) -> list[str]:
    return [element.proto.label for element in at.get("page_link")]


# ----------------------------------------------------------------------------- seeding the database

EVOTOR_PROFILE = {
    "store_id": "20170228-F4F1-401B-80FA-9ECCA8451FFB",
    "store_name": "Чайная",
    "stores": [
        {"id": "20170228-F4F1-401B-80FA-9ECCA8451FFB", "name": "Чайная",
         "address": "Россия, г. Москва, ул. Тимура Фрунзе, 24"},
        {"id": "20190412-A1B2-4C3D-8E9F-0A1B2C3D4E5F", "name": "Кофейня на Садовой",
         "address": "Россия, г. Москва, Садовая ул., 5"},
    ],
}
VK_PROFILE = {"user_id": 743784474, "first_name": "Иван", "last_name": "Иванов"}
SEEDS = {
    "evotor": ("20170228-F4F1-401B-80FA-9ECCA8451FFB", "Чайная", EVOTOR_PROFILE),
    "vk": ("743784474", "Иван Иванов", VK_PROFILE),
}


def add_connection(rt: Runtime, user: UserView, provider: str, *, status: Status = Status.ONLINE,
                   reason: str = "", last_checked_at: datetime | None = None,
                   auth_method: str = "oauth") -> int:
    """A connection row in a given state (the tokens are placeholders nobody calls with)."""
    account_id, display_name, profile = SEEDS[provider]
    with rt.sessions() as session:
        row = Connection(
            user_id=user.id, provider=provider, auth_method=auth_method, account_id=account_id,
            display_name=display_name, profile=profile,
            access_token_sealed=rt.cipher.seal(Secret(f"placeholder-{provider}-token")),
            refresh_token_sealed=None, token_version=1,
            status=status, status_reason=reason, is_online=status is Status.ONLINE,
            last_checked_at=last_checked_at,
            last_success_at=last_checked_at if status is Status.ONLINE else None,
        )
        session.add(row)
        session.commit()
        return row.id


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



# ----------------------------------------------------------------------------- the sandbox's consent screen

class _ConsentForm(HTMLParser):
    """The consent page's form: action, hidden fields and the preselected account."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.accounts: list[str] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = attributes.get("action", "")
        elif tag == "input" and attributes.get("type") == "hidden":
            self.fields[attributes.get("name", "")] = attributes.get("value", "")
        elif tag == "select":
            self._select = attributes.get("name")
        elif tag == "option" and self._select == "account":
            self.accounts.append(attributes.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def consent(authorize_url: str, *, decision: str = "allow", account: str | None = None) -> dict[str, str]:
    """Answer the sandbox's consent screen like a user; return the query of the redirect back to connhub."""
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200, page.text
    form = _ConsentForm()
    form.feed(page.text)
    data = {**form.fields, "decision": decision}
    if form.accounts:
        data["account"] = account or form.accounts[0]
    answer = requests.post(urljoin(authorize_url, form.action or urlsplit(authorize_url).path), data=data,
                           allow_redirects=False, timeout=5)
    assert answer.status_code in (302, 303), answer.text
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))


def oauth_connect(rt: Runtime, user: UserView, provider: str, *, account: str | None = None) -> int:
    """Connect through the real flow against the sandbox (no page involved); the connection id."""
    params = consent(oauth.begin_authorization(rt, user_id=user.id, provider=provider), account=account)
    result = oauth.complete_authorization(rt, user_id=user.id, params=params)
    assert result.ok, result.message
    assert result.connection_id is not None
    return result.connection_id
