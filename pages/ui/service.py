"""A provider's service page: its account (as the provider presents it), health, history, check and
reconnect. One renderer serves every registered provider; `service_page` makes its st.Page."""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from connhub import connections
from connhub.connections import ConnectionView
from connhub.models import AuthMethod, CheckSource, Outcome
from connhub.providers import PROVIDER_INFO, ProviderInfo
from connhub.providers.presentation import AccountPresentation
from connhub.text import milliseconds
from connhub.users import UserView
from pages.ui.connect import connect_link, token_form, watch_flows
from pages.ui.history import hour_bar, latency_chart
from pages.ui.journal import connection_journal
from pages.ui.notices import back_to_dashboard_link
from pages.ui.routes import ADD_PAGE
from pages.ui.session import require_user, runtime
from pages.ui.status import STATUS_BADGES, check_now_panel, render_status
from pages.ui.text import Markup, format_time, md, table_rows

DETAILS_REFRESH_SECONDS = 10

CHECK_SOURCES = {CheckSource.CHECKER: "Проверка по расписанию", CheckSource.MANUAL: "Проверка вручную",
                 CheckSource.CONNECT: "Подключение"}
CHECK_OUTCOMES = {Outcome.OK: "Успешно", Outcome.REJECTED: "Токен отклонён", Outcome.TROUBLE: "Сбой у сервиса"}
AUTH_METHODS = {AuthMethod.OAUTH: "вход через сервис (OAuth)", AuthMethod.TOKEN: "токен приложения"}


def service_page(info: ProviderInfo) -> st.Page:
    """The provider's service page; its url path is the provider's key."""
    def render() -> None:
        render_service_page(info.key)

    render.__name__ = f"service_{info.key}"
    return st.Page(render, title=info.title, icon=info.icon, url_path=info.key)


def render_service_page(provider: str) -> None:
    user = require_user()
    rt = runtime()
    info = PROVIDER_INFO[provider]
    st.title(info.title, icon=info.icon, anchor=False)
    view = connections.view_for_provider(rt, user.id, provider)
    if view is None:
        st.info(Markup("{} не подключён.").format(info.title), icon=":material/link_off:")
        st.page_link(ADD_PAGE, label="Подключить", icon=":material/add_link:")
        back_to_dashboard_link()
        return

    _details(user, provider)
    connection_journal(user.id, view.id)  # lane notify

    st.subheader("Переподключение", anchor=False)
    st.caption("Переподключение заменяет токены; подключение, его карточка и история остаются.")
    connect_link(user, info, label="Переподключить")
    watch_flows(user, [provider], [provider], None, "переподключён")
    if info.supports_token_paste:
        token_form(rt, user, info, title="Ввести новый токен", on_success=lambda _result: st.rerun())
    st.divider()
    back_to_dashboard_link()


@st.fragment(run_every=DETAILS_REFRESH_SECONDS)
def _details(user: UserView, provider: str) -> None:
    rt = runtime()
    view = connections.view_for_provider(rt, user.id, provider)
    if view is None:  # disconnected in another tab
        st.rerun()
        return
    view = check_now_panel(rt, user, view, slot=st.empty(), buttons=st.container(), render=_summary)

    st.subheader("Аккаунт", anchor=False)
    render_account(rt.providers.get(provider).present_account(view.account_id, view.details, view.profile))

    st.subheader("История", anchor=False)
    history = connections.history_for(rt, user.id, view.id)
    hour_bar(history.day, key="history-day")
    st.markdown("**Время ответа за неделю**, по часам")
    latency_chart(history.week)

    st.subheader("Последние проверки", anchor=False)
    checks = connections.checks_for(rt, user.id, view.id, limit=20)
    if not checks:
        st.caption("Проверок ещё не было.")
        return
    st.dataframe(
        table_rows(
            {
                "Время": format_time(check.checked_at),
                "Источник": CHECK_SOURCES.get(check.source, check.source),
                "Результат": CHECK_OUTCOMES.get(check.outcome, check.outcome),
                "Статус": STATUS_BADGES[check.status_after][0],
                "Причина": check.reason,
                "Задержка, мс": milliseconds(check.latency_ms),  # «—» when unknown, never «None»
            }
            for check in checks
        ),
        hide_index=True,
    )


def _summary(view: ConnectionView, checking: bool) -> None:
    render_status(view, checking=checking)
    lines = [
        f"Последняя проверка: {format_time(view.last_checked_at)}",
        f"Последняя успешная: {format_time(view.last_success_at)}",
    ]
    if view.next_check_at is not None:
        lines.append(f"Следующая по расписанию: {format_time(view.next_check_at)}")
    if view.last_latency_ms is not None:
        lines.append(f"Время ответа: {view.last_latency_ms} мс")
    method = AUTH_METHODS.get(view.auth_method, view.auth_method)  # StrEnum keys match stored strings
    lines.append(f"Подключено {format_time(view.created_at)}, {method}")
    st.caption("  \n".join(lines))


def render_account(account: AccountPresentation) -> None:
    """A provider's account presentation: heading, facts, tables."""
    if account.heading:
        st.markdown(Markup("**{}**").format(account.heading))
    for fact in account.facts:
        line = Markup("{}: {}").format(fact.label, fact.value)
        if fact.link is not None:
            line += Markup(" · [{}]({})").format(fact.link.text, Markup(quote(fact.link.url, safe=":/?&=#%+@,;~")))
        st.markdown(line)
    for table in account.tables:
        if not table.rows:
            st.caption(md(table.empty))
            continue
        st.dataframe(table_rows(dict(zip(table.columns, row, strict=True)) for row in table.rows), hide_index=True)
