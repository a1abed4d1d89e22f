"""«Обзор»: every user's connections and syncs, the sidecars, for connhub's administrators.

app.py registers this page only for administrators; the page checks again, and every service
call it makes (`connhub.admin.service`) checks once more. What the administrator opens comes from
this session's widgets, never from the URL.
"""

from __future__ import annotations

import streamlit as st

from connhub.admin import service
from connhub.admin.access import Actor
from connhub.admin.service import ConnectionState, Filters, Overview, SyncState
from connhub.models import Status
from pages.ui.admin import OPEN_CONNECTION, OPEN_SYNC, admin_actor
from pages.ui.session import runtime
from pages.ui.status import STATUS_BADGES
from pages.ui.text import Markup, format_time, md, table_rows

CONNECTION_LABELS: dict[ConnectionState, str] = {
    ConnectionState.ONLINE: "В сети",
    ConnectionState.OFFLINE: "Нет связи",
    ConnectionState.RECONNECT: "Требуется переподключение",
    ConnectionState.NEVER_CHECKED: "Не проверялось",
    ConnectionState.UNREADABLE: "Токен не расшифровывается",
}
SYNC_LABELS: dict[SyncState, str] = {
    SyncState.ON: "Включена",
    SyncState.OFF: "Выключена",
    SyncState.STALE: "Давно не запускалась",
    SyncState.STOPPED: "Остановлена",
    SyncState.FAILED: "Последний запуск прерван",
}
# The tiles are narrow: a short label, the full one as their help.
SHORT = {"Требуется переподключение": "Переподключить", "Токен не расшифровывается": "Токен не читается",
         "Последний запуск прерван": "Запуск прерван", "Давно не запускалась": "Давно не шла"}
RUN_LABELS = {"finished": "Готово", "stopped": "Остановлено", "failed": "Прервано", "running": "Идёт",
              "requested": "Ожидает запуска"}
ANY = ""


def refused() -> None:
    st.title("Обзор", anchor=False)
    st.error("Эта страница только для администраторов connhub.", icon=":material/lock:")
    st.stop()


def counts(view: Overview) -> None:
    st.subheader("Подключения", anchor=False)
    columns = st.columns(len(CONNECTION_LABELS))
    for column, (state, label) in zip(columns, CONNECTION_LABELS.items(), strict=True):
        column.metric(SHORT.get(label, label), view.connection_counts[state], border=True, help=label)
    st.subheader("Синхронизации", anchor=False)
    columns = st.columns(len(SYNC_LABELS))
    for column, (sync_state, label) in zip(columns, SYNC_LABELS.items(), strict=True):
        column.metric(SHORT.get(label, label), view.sync_counts[sync_state], border=True, help=label)


def sidecars(view: Overview) -> None:
    st.subheader("Фоновые процессы (checker.py)", anchor=False)
    queues = view.queues
    lag = "—" if queues.due_lag_seconds is None else f"{queues.due_lag_seconds:.0f} с"
    st.caption(md(f"Ждут проверки: {queues.due_checks} (старейшая ждёт {lag}). Обновления каталога: в очереди "
                  f"{queues.catalog_queued}, идут {queues.catalog_running}. Запуски синхронизации: ждут "
                  f"{queues.sync_requested}, идут {queues.sync_running}."))
    if not view.sidecars:
        st.warning("Ни один фоновый процесс не отмечался: проверки и синхронизации не идут.", icon=":material/warning:")
        return
    st.dataframe(table_rows({
        "Хост": row.host, "PID": row.pid, "Запущен": format_time(row.started_at),
        "Последний цикл": format_time(row.last_beat_at), "Состояние": "молчит" if row.silent else "работает",
        "Длительность цикла, с": row.cycle_seconds, "Проверено за цикл": row.checked,
        "Проверок в секунду": None if row.checks_per_second is None else round(row.checks_per_second, 1),
    } for row in view.sidecars), hide_index=True, width="stretch")


def filters() -> Filters:
    services = {ANY: "Все", **dict(service.providers())}
    states = {ANY: "Все", **{key.value: label for key, label in CONNECTION_LABELS.items()}}
    sync_states = {ANY: "Все", **{key.value: label for key, label in SYNC_LABELS.items()}}
    left, middle, right, owner_column = st.columns([1, 1, 1, 2])
    # format_func: a dict's own lookup (session state must pickle, and lambdas do not)
    provider = left.selectbox("Сервис", list(services), format_func=services.__getitem__, key="admin_service")
    state = middle.selectbox("Статус подключения", list(states), format_func=states.__getitem__, key="admin_state")
    sync_state = right.selectbox("Состояние синхронизации", list(sync_states), format_func=sync_states.__getitem__,
                                 key="admin_sync_state")
    owner = owner_column.text_input("Владелец (e-mail или имя)", key="admin_owner", max_chars=200)
    problems = st.toggle("только проблемы", key="admin_problems")
    return Filters(service=provider or "", connection_state=state or "", sync_state=sync_state or "",
                   owner=owner or "", problems_only=problems,
                   connections_page=int(st.session_state.get("admin_connections_page", 1)) - 1,
                   syncs_page=int(st.session_state.get("admin_syncs_page", 1)) - 1)


def pager(total: int, page_size: int, key: str) -> None:
    pages = max(1, -(-total // page_size))
    if pages > 1:
        st.number_input(f"Страница (из {pages})", min_value=1, max_value=pages, step=1, key=key)


def connections_table(view: Overview) -> int | None:
    shown = len(view.connections)
    st.caption(md(f"Найдено: {view.connections_total}. Показаны {shown}."))
    st.dataframe(table_rows({
        "Владелец": row.owner, "Сервис": row.service, "Аккаунт": row.account,
        "Статус": CONNECTION_LABELS[ConnectionState.UNREADABLE] if row.unreadable
        else CONNECTION_LABELS[ConnectionState(row.status.value)],
        "Причина": row.reason, "Проверено": format_time(row.last_checked_at),
        "Следующая проверка": format_time(row.next_check_at),
    } for row in view.connections), hide_index=True, width="stretch")
    pager(view.connections_total, view.page_size, "admin_connections_page")
    if not view.connections:
        return None
    labels: dict[int | None, str] = {None: "—", **{row.id: f"{row.owner} — {row.service} ({row.account})"
                                                    for row in view.connections}}
    chosen: int | None = st.selectbox("Открыть подключение", list(labels), format_func=labels.__getitem__,
                                      key=OPEN_CONNECTION)
    return chosen


def syncs_table(view: Overview) -> int | None:
    st.caption(md(f"Найдено: {view.syncs_total}. Показаны {len(view.syncs)}."))
    st.dataframe(table_rows({
        "Владелец": row.owner, "Состояние": SYNC_LABELS[row.state], "Магазин Эвотор": row.store,
        "Сообщество ВКонтакте": row.community,
        "Последний запуск": RUN_LABELS.get(row.last_run_state or "", "—"),
        "Когда": format_time(row.last_run_at), "Примечание": row.last_run_note,
    } for row in view.syncs), hide_index=True, width="stretch")
    pager(view.syncs_total, view.page_size, "admin_syncs_page")
    if not view.syncs:
        return None
    owners: dict[int | None, str] = {None: "—", **{row.user_id: row.owner for row in view.syncs}}
    chosen: int | None = st.selectbox("Открыть синхронизацию", list(owners), format_func=owners.__getitem__,
                                      key=OPEN_SYNC)
    return chosen


def connection_panel(actor: Actor, connection_id: int) -> None:
    rt = runtime()
    detail = service.connection_detail(rt, actor, connection_id)
    if detail is None:
        st.info("Подключение уже удалено.")
        return
    view = detail.connection
    with st.container(border=True, key="admin-connection"):
        st.markdown(Markup("**{}** пользователя **{}** · только просмотр").format(view.title, detail.owner))
        label, color, icon = STATUS_BADGES[view.status]
        st.badge(label, color=color, icon=icon)
        if detail.unreadable:
            st.error("Токен не расшифровывается текущим ключом шифрования connhub: это не ошибка пользователя.",
                     icon=":material/key_off:")
        if view.status_reason:
            st.markdown(md(view.status_reason))
        st.caption(md(f"Аккаунт: {view.details or view.account_id}. Проверено: {format_time(view.last_checked_at)}. "
                      f"Следующая проверка: {format_time(view.next_check_at)}."))
        if st.button("Проверить сейчас", icon=":material/refresh:", key="admin-check-now"):
            with st.spinner("Проверяем…"):
                result = service.check_now_for(rt, actor, connection_id)
            (st.success if result.ok else st.warning)(md(result.message))
            if result.connection is not None:
                label, color, icon = STATUS_BADGES[result.connection.status]
                st.badge(f"Теперь: {label}", color=color, icon=icon)
        if detail.checks:
            st.dataframe(table_rows({
                "Когда": format_time(check.checked_at), "Итог": STATUS_BADGES[Status(check.status_after)][0],
                "Причина": check.reason, "Задержка, мс": check.latency_ms,
            } for check in detail.checks), hide_index=True, width="stretch")


def sync_panel(actor: Actor, user_id: int) -> None:
    rt = runtime()
    detail = service.sync_detail(rt, actor, user_id)
    if detail is None:
        st.info("Пользователь удалён.")
        return
    config = detail.config
    settings = config.settings
    with st.container(border=True, key="admin-sync"):
        st.markdown(Markup("**Синхронизация** пользователя **{}** · только просмотр").format(detail.owner))
        st.caption(md(f"{'Включена' if config.is_on else 'Выключена'}. Магазин: {settings.store_name or '—'}. "
                      f"Сообщество: {settings.vk_group_name or '—'}. Включил: {config.confirmed_by or '—'}, "
                      f"{format_time(config.confirmed_at)}."))
        if st.button("Синхронизировать сейчас", icon=":material/sync:", key="admin-sync-now",
                     disabled=not config.is_on):
            result = service.sync_now_for(rt, actor, user_id)
            (st.success if result.ok else st.warning)(md(result.message))
        if detail.runs:
            st.dataframe(table_rows({
                "№": run.id, "Состояние": RUN_LABELS.get(run.state, run.state), "Запросил": run.triggered_by,
                "Начат": format_time(run.started_at or run.requested_at), "Ошибок": run.counts["failed"],
                "Причина остановки": run.stop_reason,
            } for run in detail.runs), hide_index=True, width="stretch")


def main() -> None:
    actor = admin_actor()
    if actor is None:
        refused()
        return
    st.title("Обзор", anchor=False)
    chosen = filters()
    view = service.overview(runtime(), actor, chosen)
    st.caption(md(f"Пользователей: {view.users}. Данные на {format_time(view.now)}."))
    counts(view)
    sidecars(view)
    st.subheader("Все подключения", anchor=False)
    connection_id = connections_table(view)
    if connection_id is not None:
        connection_panel(actor, connection_id)
    st.subheader("Все синхронизации", anchor=False)
    user_id = syncs_table(view)
    if user_id is not None:
        sync_panel(actor, user_id)


main()
