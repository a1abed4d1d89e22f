"""Streamlit-only helpers shared by app.py and the pages.

The cached runtime, who is signed in, and the pieces the dashboard and the service pages both
render. Every read and write goes through connhub and names the signed-in user's id; an id
kept in session state or a widget key only ever says *which of this user's* connections.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from connhub import connections, health, oauth
from connhub.config import ConfigError
from connhub.connections import ConnectionView
from connhub.models import Status, utcnow
from connhub.oauth import ConnectResult
from connhub.providers import PROVIDER_INFO, ProviderInfo
from connhub.providers.presentation import AccountPresentation
from connhub.runtime import Runtime
from connhub.users import LOCAL_SUBJECT, UserView, ensure_user, oidc_subject

DASHBOARD = "pages/connections.py"
ADD_PAGE = "pages/add_connection.py"
CALLBACK_PAGE = "pages/oauth_callback.py"
CATALOG_PAGE = "pages/catalog.py"

LOCAL_NAME = "Локальный оператор"
DEFAULT_TIMEZONE = "Europe/Moscow"
CARDS_REFRESH_SECONDS = 10
AUTHORIZE_WATCH_SECONDS = 5

USER_KEY = "_connhub_user"
FLASH_KEY = "_connhub_flash"
TOAST_KEY = "_connhub_toast"
CHECKING_KEY = "_connhub_checking"
PENDING_DISCONNECT_KEY = "_connhub_pending_disconnect"
AUTHORIZE_KEY_PREFIX = "_connhub_authorize_"

STATUS_BADGES: dict[Status, tuple[str, str, str]] = {
    Status.ONLINE: ("В сети", "green", ":material/check_circle:"),
    Status.OFFLINE: ("Нет связи", "red", ":material/cloud_off:"),
    Status.RECONNECT: ("Требуется переподключение", "red", ":material/link_off:"),
    Status.NEVER_CHECKED: ("Не проверялось", "gray", ":material/schedule:"),
}
CHECKING_BADGE = ("Проверяем…", "gray", ":material/progress_activity:")
CHECK_SOURCES = {"checker": "Проверка по расписанию", "manual": "Проверка вручную", "connect": "Подключение"}
CHECK_OUTCOMES = {"ok": "Успешно", "rejected": "Токен отклонён", "trouble": "Сбой у сервиса"}
AUTH_METHODS = {"oauth": "вход через сервис (OAuth)", "token": "токен приложения"}


# ----------------------------------------------------------------------------- runtime

@st.cache_resource(show_spinner=False, on_release=Runtime.close)
def runtime() -> Runtime:
    """One Runtime (engine, cipher, providers) per process, shared by all sessions."""
    return Runtime.from_settings()


# ----------------------------------------------------------------------------- who is signed in

@dataclass(frozen=True)
class Access:
    """What app.py should serve to this session."""

    kind: str  # ok | sign_in | local_refused | bad_identity | config_error
    user: UserView | None = None
    oidc: bool = False  # signed in through [auth] (st.login), not the local mode
    message: str = ""


def auth_configured() -> bool:
    """True when secrets.toml has an [auth] section: users sign in with st.login."""
    secrets = st.secrets  # looked up at call time: AppTest swaps st.secrets
    return secrets.load_if_toml_exists() and "auth" in secrets


def is_loopback_address(address: str | None) -> bool:
    host = (address or "").strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # empty (every interface) or a name we cannot vouch for


def server_address() -> str:
    return str(st.get_option("server.address") or "")


def resolve_access() -> Access:
    try:
        rt = runtime()
    except ConfigError as exc:
        return Access("config_error", message=str(exc))
    if auth_configured():
        if not st.user.get("is_logged_in"):
            return Access("sign_in", oidc=True)
        subject = str(st.user.get("sub") or "")
        if not subject:
            return Access("bad_identity", oidc=True, message=(
                "Сервис входа не передал идентификатор пользователя (sub). "
                "Проверьте настройки OIDC-клиента в разделе [auth]."
            ))
        email = str(st.user.get("email") or "")
        name = str(st.user.get("name") or "")
        return Access("ok", user=_user_for(rt, oidc_subject(subject), email, name), oidc=True)
    if not is_loopback_address(server_address()):
        return Access("local_refused")
    return Access("ok", user=_user_for(rt, LOCAL_SUBJECT, "", LOCAL_NAME))


def _user_for(rt: Runtime, subject: str, email: str, name: str) -> UserView:
    identity = (subject, email, name)
    cached = st.session_state.get(USER_KEY)
    if cached is not None and cached[0] == identity:
        return cached[1]
    with rt.sessions() as session:
        user = ensure_user(session, subject=subject, email=email, name=name)
    st.session_state[USER_KEY] = (identity, user)
    return user


def require_user() -> UserView:
    """The signed-in user; stops the page for anyone else (app.py should not route them here)."""
    access = resolve_access()
    if access.user is None:
        st.warning("Войдите, чтобы продолжить.", icon=":material/lock:")
        st.stop()
    return access.user


# ----------------------------------------------------------------------------- formatting

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=])")


def md(text: object) -> str:
    """Text from a provider or the database, escaped for Streamlit's Markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def user_timezone() -> ZoneInfo:
    name = st.context.timezone or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def format_time(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(user_timezone()).strftime("%d.%m.%Y %H:%M")


def set_flash(message: str) -> None:
    st.session_state[FLASH_KEY] = message


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(md(message), icon=":material/check_circle:")


def queue_toast(message: str, icon: str) -> None:
    """A toast for the next full run: callbacks of a dialog (a fragment) should not draw anything."""
    st.session_state[TOAST_KEY] = (message, icon)


def show_queued_toast() -> None:
    queued = st.session_state.pop(TOAST_KEY, None)
    if queued:
        st.toast(md(queued[0]), icon=queued[1])


def back_to_dashboard_link() -> None:
    st.page_link(DASHBOARD, label="Вернуться к подключениям", icon=":material/arrow_back:")


def provider_titles(conjunction: str) -> str:
    """The registered providers' titles in one phrase: «Эвотор и ВКонтакте»."""
    titles = [info.title for info in PROVIDER_INFO.values()]
    return f" {conjunction} ".join(filter(None, [", ".join(titles[:-1]), *titles[-1:]]))


def sandbox_badge() -> None:
    st.badge("Песочница", color="orange", icon=":material/science:",
             help=f"Сервисы {provider_titles('и')} эмулируются локально")


def service_page(info: ProviderInfo) -> st.Page:
    """The provider's service page (its url path is the provider key)."""
    def render() -> None:
        render_service_page(info.key)

    render.__name__ = f"service_{info.key}"
    return st.Page(render, title=info.title, icon=info.icon, url_path=info.key)


# ----------------------------------------------------------------------------- status

def render_status(view: ConnectionView, *, checking: bool = False) -> None:
    label, color, icon = CHECKING_BADGE if checking else STATUS_BADGES[view.status]
    st.badge(label, color=color, icon=icon)
    if view.status_reason and not checking:
        if view.status is Status.ONLINE:
            st.caption(md(view.status_reason))
        else:
            st.markdown(f":red[{md(view.status_reason)}]")


def start_check(connection_id: int) -> None:
    st.session_state[CHECKING_KEY] = connection_id


def check_requested(view: ConnectionView) -> bool:
    return st.session_state.get(CHECKING_KEY) == view.id


def run_check(rt: Runtime, user: UserView, view: ConnectionView) -> ConnectionView | None:
    """«Проверить сейчас»: the checker's own check, for this user's connection; toasts the result."""
    st.session_state.pop(CHECKING_KEY, None)
    with st.spinner(f"Проверяем {view.title}…"):
        updated = connections.check_now(rt, user_id=user.id, connection_id=view.id)
    if updated is None:
        st.toast("Подключение не найдено — возможно, его уже отключили", icon=":material/error:")
        return None
    label = STATUS_BADGES[updated.status][0]
    if updated.status_reason:
        st.toast(md(f"{updated.title}: {label.lower()} — {updated.status_reason}"), icon=":material/warning:")
    elif updated.is_online:
        st.toast(md(f"{updated.title}: {label.lower()}"), icon=":material/check_circle:")
    else:
        st.toast(md(f"{updated.title}: {label.lower()}"), icon=":material/warning:")
    return updated


def checker_banner(rt: Runtime) -> None:
    with rt.sessions() as session:
        status = health.checker_status(session, interval_seconds=rt.settings.HEALTH_CHECK_INTERVAL_SECONDS)
    if not status.stale:
        return
    if status.last_beat_at is None:
        text = ("Фоновая проверка не работает: от checker.py ещё не было ни одного сигнала. "
                "Статусы не обновляются сами — запустите checker.py.")
    else:
        text = (f"Фоновая проверка не работает: последний сигнал {format_time(status.last_beat_at)}. "
                "Статусы могут быть устаревшими — проверьте процесс checker.py.")
    st.warning(text, icon=":material/warning:")


# ----------------------------------------------------------------------------- connecting

def _authorize_key(provider: str) -> str:
    return AUTHORIZE_KEY_PREFIX + provider


def _begin_authorization(user_id: int, provider: str) -> None:
    url = oauth.begin_authorization(runtime(), user_id=user_id, provider=provider)
    st.session_state[_authorize_key(provider)] = {"url": url, "begun_at": utcnow()}


def forget_authorization(provider: str) -> None:
    st.session_state.pop(_authorize_key(provider), None)


def pending_authorization(provider: str) -> dict[str, Any] | None:
    """The authorize link this session made for the provider, while its flow is still valid."""
    pending = st.session_state.get(_authorize_key(provider))
    if pending is None:
        return None
    if utcnow() - pending["begun_at"] > oauth.FLOW_LIFETIME:
        forget_authorization(provider)
        return None
    return pending


def authorize_controls(user: UserView, info: ProviderInfo, *, label: str) -> None:
    """Two steps, because Streamlit cannot redirect: the button makes the flow, the link opens it."""
    pending = pending_authorization(info.key)
    if pending is None:
        st.button(label, key=f"authorize-{info.key}", type="primary", icon=":material/login:",
                  on_click=_begin_authorization, args=(user.id, info.key))
        return
    row = st.container(horizontal=True, vertical_alignment="center")
    row.link_button(f"Продолжить в {info.title}", pending["url"], type="primary", icon=":material/open_in_new:")
    row.button("Отмена", key=f"authorize-cancel-{info.key}", type="tertiary",
               on_click=forget_authorization, args=(info.key,))
    st.caption(
        f"{info.title} откроется в новой вкладке. Когда вы подтвердите доступ, результат появится там, "
        "на странице «Подключения», а эта страница обновится сама. Ссылка действует 10 минут."
    )


def connected_since(rt: Runtime, user_id: int, provider: str, since: datetime) -> ConnectionView | None:
    """The user's connection to the provider if it was (re)connected at or after `since`."""
    with rt.sessions() as session:
        view = connections.get_for_user(session, user_id, provider)
        if view is None:
            return None
        checks = connections.recent_checks(session, user_id, view.id, limit=5)
    if any(check.source == "connect" and check.checked_at >= since for check in checks):
        return view
    return None


def any_authorization_pending(providers: list[str]) -> bool:
    return any(pending_authorization(provider) is not None for provider in providers)


@st.fragment(run_every=AUTHORIZE_WATCH_SECONDS)
def watch_authorizations(user: UserView, providers: list[str], then: str | None, verb: str = "подключён") -> None:
    """While a flow begun here is open in another tab, notice when it lands and move on."""
    rt = runtime()
    for provider in providers:
        began = st.session_state.get(_authorize_key(provider)) is not None
        pending = pending_authorization(provider)
        if pending is None:
            if began:  # the link just expired: show «Подключить» again instead of a dead link
                st.rerun()
            continue
        view = connected_since(rt, user.id, provider, pending["begun_at"])
        if view is None:
            continue
        forget_authorization(provider)
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
            st.caption(f"Песочница: токен показан на [странице приложения в маркете]({token_page}).")
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
    st.toast(md(result.message), icon=":material/check_circle:")
    on_success(result)


# ----------------------------------------------------------------------------- service pages

def render_service_page(provider: str) -> None:
    """A provider's service page: the account, its health and history, check, reconnect."""
    user = require_user()
    rt = runtime()
    info = PROVIDER_INFO[provider]
    st.title(info.title, icon=info.icon, anchor=False)
    if any_authorization_pending([provider]):
        watch_authorizations(user, [provider], None, "переподключён")
    with rt.sessions() as session:
        view = connections.get_for_user(session, user.id, provider)
    if view is None:
        st.info(f"{info.title} не подключён.", icon=":material/link_off:")
        st.page_link(ADD_PAGE, label="Подключить", icon=":material/add_link:")
        back_to_dashboard_link()
        return

    _service_details(user, provider)

    st.subheader("Переподключение", anchor=False)
    st.caption("Переподключение заменяет токены; подключение, его карточка и история остаются.")
    authorize_controls(user, info, label="Переподключить")
    if info.supports_token_paste:
        token_form(rt, user, info, title="Ввести новый токен", on_success=lambda _result: st.rerun())
    st.divider()
    back_to_dashboard_link()


@st.fragment(run_every=CARDS_REFRESH_SECONDS)
def _service_details(user: UserView, provider: str) -> None:
    rt = runtime()
    with rt.sessions() as session:
        view = connections.get_for_user(session, user.id, provider)
    if view is None:  # disconnected in another tab
        st.rerun()
    checking = check_requested(view)
    summary = st.empty()
    with summary.container():
        _service_summary(view, checking=checking)
    st.button("Проверить сейчас", key=f"check-{provider}", icon=":material/refresh:", disabled=checking,
              on_click=start_check, args=(view.id,))
    if checking:
        updated = run_check(rt, user, view)
        if updated is None:
            st.rerun()
        view = updated
        with summary.container():
            _service_summary(view)

    st.subheader("Аккаунт", anchor=False)
    render_account(rt.providers.get(provider).present_account(view.account_id, view.details, view.profile))

    st.subheader("Последние проверки", anchor=False)
    with rt.sessions() as session:
        checks = connections.recent_checks(session, user.id, view.id, limit=20)
    if not checks:
        st.caption("Проверок ещё не было.")
        return
    st.dataframe(
        [
            {
                "Время": format_time(check.checked_at),
                "Источник": CHECK_SOURCES.get(check.source, check.source),
                "Результат": CHECK_OUTCOMES.get(check.outcome, check.outcome),
                "Статус": STATUS_BADGES[check.status_after][0],
                "Причина": check.reason,
                "Задержка, мс": "—" if check.latency_ms is None else str(check.latency_ms),
            }
            for check in checks
        ],
        hide_index=True,
    )


def _service_summary(view: ConnectionView, *, checking: bool = False) -> None:
    render_status(view, checking=checking)
    lines = [
        f"Последняя проверка: {format_time(view.last_checked_at)}",
        f"Последняя успешная: {format_time(view.last_success_at)}",
    ]
    if view.next_check_at is not None:
        lines.append(f"Следующая по расписанию: {format_time(view.next_check_at)}")
    if view.last_latency_ms is not None:
        lines.append(f"Время ответа: {view.last_latency_ms} мс")
    lines.append(f"Подключено {format_time(view.created_at)}, {AUTH_METHODS.get(view.auth_method, view.auth_method)}")
    st.caption("  \n".join(lines))


def render_account(account: AccountPresentation) -> None:
    """A provider's account presentation: heading, facts, tables."""
    if account.heading:
        st.markdown(f"**{md(account.heading)}**")
    for fact in account.facts:
        line = f"{md(fact.label)}: {md(fact.value)}"
        if fact.link is not None:
            line += f" · [{md(fact.link.text)}]({fact.link.url})"
        st.markdown(line)
    for table in account.tables:
        if not table.rows:
            st.caption(md(table.empty))
            continue
        st.dataframe([dict(zip(table.columns, row, strict=True)) for row in table.rows], hide_index=True)
