"""The browser side of an authorization-code flow, shared by every emulated provider.

GET shows the consent screen; the screen POSTs back to the same path with the original request in
hidden fields plus the user's choice, and every field is validated again on that POST. Problems
with the client or the redirect URI get an error page (redirecting to an unverified URI would be an
open redirect); every other problem is reported to the client by redirecting with `error=...`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from connhub.sandbox.pages import consent_page, error_page
from connhub.sandbox.state import SandboxState
from connhub.sandbox.web import Request, Response, add_query, html_response, redirect


@dataclass(frozen=True)
class ConsentFlow:
    provider: str
    title: str
    client_id: str
    fields: tuple[str, ...]
    """The authorize parameters carried from the GET to the consent POST."""
    check: Callable[[dict[str, str]], tuple[str, str] | None]
    """Provider rules for the request: None when it is acceptable, else (error, description)."""
    scopes: Callable[[dict[str, str]], list[str]]
    """What the consent screen says is requested."""
    scope_text: dict[str, str]
    """How the consent screen words each of the provider's scopes."""
    approve: Callable[[SandboxState, dict[str, str], str], dict[str, str]]
    """Issue a code for the chosen account; returns the parameters of the success redirect."""


def handle(flow: ConsentFlow, state: SandboxState, request: Request) -> Response:
    params = request.params
    redirect_uri = params.get("redirect_uri", "")
    if params.get("client_id") != flow.client_id:
        return html_response(error_page("Неизвестное приложение: проверьте client_id."), 400)
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return html_response(error_page("Не указан или неверен адрес возврата (redirect_uri)."), 400)

    def fail(error: str, description: str) -> Response:
        answer = {"error": error, "error_description": description}
        if "state" in params:
            answer["state"] = params["state"]
        return redirect(add_query(redirect_uri, answer))

    problem = flow.check(params)
    if problem is not None:
        return fail(*problem)
    if request.method == "GET":
        hidden = {name: params[name] for name in flow.fields if name in params}
        emulation = state.emulations[flow.provider]
        accounts = [(account_id, emulation.label(account_id)) for account_id in emulation.accounts]
        page = consent_page(provider_title=flow.title, action=request.path, hidden=hidden,
                            accounts=accounts, scopes=flow.scopes(params), scope_text=flow.scope_text)
        return html_response(page)

    decision = params.get("decision")
    if decision == "deny":
        return fail("access_denied", "User denied access")
    account_id = params.get("account", "")
    if decision != "allow" or account_id not in state.emulations[flow.provider].accounts:
        return html_response(error_page("Выберите аккаунт и нажмите «Разрешить» или «Отказать»."), 400)
    return redirect(add_query(redirect_uri, flow.approve(state, params, account_id)))
