"""The sandbox consent page, answered like a browser would: the one driver every test uses."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

TIMEOUT = 5


class ConsentForm(HTMLParser):
    """The consent page's form: its action, hidden fields and the accounts on offer (first preselected)."""

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
    """Open the consent page, choose (`account` or the preselected one) and decide; return the query
    of the provider's redirect back to connhub."""
    page = requests.get(authorize_url, timeout=TIMEOUT)
    assert page.status_code == 200, page.text
    form = ConsentForm()
    form.feed(page.text)
    data = {**form.fields, "decision": decision}
    if form.accounts:
        data["account"] = account or form.accounts[0]
    target = urljoin(authorize_url, form.action or urlsplit(authorize_url).path)
    answer = requests.post(target, data=data, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code in (302, 303), answer.text
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
