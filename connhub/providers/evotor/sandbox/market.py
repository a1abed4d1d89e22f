"""market.evotor.ru, emulated: the app's «Настройки» tab, where a user copies (or reissues) the
app's cloud token."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from connhub.providers.evotor.sandbox.constants import EVOTOR, EVOTOR_ACCOUNTS, account_label, default_account
from connhub.sandbox.pages import error_page, page
from connhub.sandbox.state import SandboxState
from connhub.sandbox.web import Request, Response, html_response, redirect

# ----- market.evotor.ru: the app's «Настройки» tab -----

def market(state: SandboxState, request: Request) -> Response:
    """GET shows the account's cloud token; POST («Выпустить новый токен») replaces it."""
    account_id = request.params.get("account") or default_account()
    if account_id not in EVOTOR_ACCOUNTS:
        return html_response(error_page("Нет такого аккаунта Эвотор."), 404)
    if request.method == "POST":
        state.reissue_cloud_token(EVOTOR, account_id)
        return redirect(f"/evotor/market?account={quote(account_id)}", 303)
    accounts = [(other, account_label(other)) for other in EVOTOR_ACCOUNTS]
    return html_response(market_page(account_id=account_id, token=state.cloud_token(EVOTOR, account_id),
                                     accounts=accounts))


def market_page(*, account_id: str, token: str, accounts: list[tuple[str, str]]) -> str:
    """The Evotor app page, «Настройки» tab, where a user copies the app's cloud token."""
    switcher = " · ".join(
        f'<a href="/evotor/market?account={escape(quote(other))}" data-account="{escape(other)}">'
        + (f"<b>{escape(label)}</b>" if other == account_id else escape(label))
        + "</a>"
        for other, label in accounts
    )
    return page(
        "Эвотор · connhub",
        '<p class="muted">Эвотор · Личный кабинет · Мои приложения</p>'
        "<h1>connhub</h1>"
        '<nav><span class="muted">Описание</span> <b>Настройки</b></nav>'
        "<h2>Токен приложения</h2>"
        f'<p><code id="cloud-token">{escape(token)}</code></p>'
        '<p class="muted">Скопируйте токен и вставьте его в connhub.</p>'
        '<form method="post" action="/evotor/market">'
        f'<input type="hidden" name="account" value="{escape(account_id)}">'
        '<button type="submit" id="reissue">Выпустить новый токен</button>'
        "</form>"
        f'<p class="muted">Аккаунт ({escape(account_id)}): {switcher}</p>',
    )

