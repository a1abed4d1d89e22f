"""Connecting: the one-click «Подключить» link, the watcher that follows a landed flow, the token form.

Streamlit cannot redirect, so «Подключить» is itself a link to the provider's consent page: the flow
(connhub.oauth) is created when the page is drawn, once per session, user and provider, reused
while it is valid and renewed shortly before it expires, so a click always goes straight to the
provider in a new tab. The tab the user clicked in stays where it was; a fragment polls whether
the flow has landed (connhub.connections.connected_since) and then moves on; a flow used without
landing (the user refused, say) or about to expire gets a fresh link. Flows nobody used expire and
are pruned by the checker's housekeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import quote

import streamlit as st

from connhub import connections, oauth
from connhub.models import utcnow
from connhub.oauth import ConnectResult
from connhub.providers import ProviderInfo
from connhub.runtime import Runtime
from connhub.users import UserView
from pages.ui.session import runtime
from pages.ui.text import Markup, md

AUTHORIZE_KEY_PREFIX = "_connhub_authorize_"
AUTHORIZE_WATCH_SECONDS = 5
# A link this close to its flow's expiry is replaced, so a click never lands on a dead flow.
RENEW_BEFORE = timedelta(minutes=2)


@dataclass(frozen=True)
class PendingFlow:
    """This session's flow for one provider."""

    user_id: int
    url: str
    state: str
    expires_at: datetime
    since: datetime  # when this session began offering the link: a connection saved after it is ours


def _key(provider: str) -> str:
    return AUTHORIZE_KEY_PREFIX + provider


def _pending(provider: str) -> PendingFlow | None:
    pending = st.session_state.get(_key(provider))
    return pending if isinstance(pending, PendingFlow) else None


def forget_flow(provider: str) -> None:
    st.session_state.pop(_key(provider), None)


def offered_flow(user: UserView, provider: str) -> PendingFlow:
    """The flow behind this session's link for the provider: made on first draw, reused while valid,
    renewed when it is about to expire."""
    pending = _pending(provider)
    now = utcnow()
    if pending is not None and pending.user_id == user.id and pending.expires_at - RENEW_BEFORE > now:
        return pending
    flow = oauth.begin_flow(runtime(), user_id=user.id, provider=provider)
    since = pending.since if pending is not None and pending.user_id == user.id else flow.begun_at
    pending = PendingFlow(user_id=user.id, url=flow.url, state=flow.state, expires_at=flow.expires_at, since=since)
    st.session_state[_key(provider)] = pending
    return pending


def connect_link(user: UserView, info: ProviderInfo, *, label: str) -> None:
    """«Подключить» (or «Переподключить»): one click opens the provider's consent page in a new tab."""
    flow = offered_flow(user, info.key)
    st.link_button(label, flow.url, key=f"authorize-{info.key}", type="primary", icon=":material/open_in_new:")
    st.caption(
        Markup("{} откроется в новой вкладке. Когда вы подтвердите доступ, результат появится там, "
               "на странице «Подключения», а эта страница обновится сама.").format(info.title)
    )


@st.fragment(run_every=AUTHORIZE_WATCH_SECONDS)
def watch_flows(user: UserView, providers: list[str], links: list[str], then: str | None,
                verb: str = "подключён") -> None:
    """While this session has a flow for one of `providers`, notice when it lands (in another tab)
    and move on: to `then`, or by rerunning this page. A flow that is about to expire, or was used
    without landing, is dropped; if its link is on this page (`links`), the page is redrawn with a
    fresh one."""
    rt = runtime()
    for provider in providers:
        pending = _pending(provider)
        if pending is None or pending.user_id != user.id:
            continue
        view = connections.connected_after(rt, user.id, provider, pending.since)
        if view is None:
            expiring = pending.expires_at - RENEW_BEFORE <= utcnow()
            if expiring or not oauth.flow_open(rt, user_id=user.id, state=pending.state):
                # Keep `since`: a landing of the old flow still counts once the link is renewed.
                st.session_state[_key(provider)] = replace(pending, expires_at=utcnow())
                if provider not in links:
                    forget_flow(provider)
                    continue
                st.rerun()  # the page draws the link again, with a fresh flow
            continue
        forget_flow(provider)
        st.toast(md(f"{view.title} {verb}: {view.details}"), icon=":material/check_circle:")
        if then:
            st.switch_page(then)
        st.rerun()


def token_form(rt: Runtime, user: UserView, info: ProviderInfo, *, title: str,
               on_success: Callable[[ConnectResult], None]) -> None:
    """Paste a token: checked live by connhub and stored only when the provider accepts it."""
    with st.expander(title, icon=":material/key:"):
        if info.token_hint:
            st.caption(info.token_hint)
        token_page = rt.providers.get(info.key).sandbox_token_page() if rt.settings.uses_sandbox else None
        if token_page:
            st.caption(Markup("Песочница: токен показан на [странице приложения в маркете]({}).").format(
                Markup(quote(token_page, safe=":/?&=#%+@,;~"))))
        with st.form(key=f"token-form-{info.key}", border=False):
            raw = st.text_input("Токен", type="password", key=f"token-{info.key}")
            submitted = st.form_submit_button("Подключить по токену", type="primary", icon=":material/key:")
        if not submitted:
            return
        with st.spinner("Проверяем токен…"):
            result = oauth.connect_with_token(rt, user_id=user.id, provider=info.key, raw_token=raw)
        if not result.ok:
            st.error(md(result.message), icon=":material/error:")
            return
    del st.session_state[f"token-{info.key}"]  # the token is stored sealed now; drop the typed copy
    forget_flow(info.key)  # connected another way: the offered flow's landing watch is moot
    st.toast(md(result.message), icon=":material/check_circle:")
    on_success(result)
