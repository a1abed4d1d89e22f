"""Каталог: the local copy of the catalog, its group tree and products, and the sync's rules.

Everything here renders and calls connhub.catalog; the refresh itself runs in the sidecar, and
its progress is polled by a fragment, so a reload shows it just the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from operator import attrgetter

import streamlit as st

from connhub.catalog import queries, service
from connhub.catalog.queries import StoreCatalog, StoreView, TableFilter
from connhub.models import RefreshState, RuleMode, RuleTarget, Status
from connhub.providers import PROVIDER_INFO
from pages.ui.notices import queue_toast, show_queued_toast
from pages.ui.routes import ADD_PAGE
from pages.ui.service import service_page
from pages.ui.session import require_user, runtime
from pages.ui.text import Markup, format_time, user_timezone

PROGRESS_SECONDS = 2
ALL_GROUPS = "__all__"
INDENT = "\u2003"  # an em space per level of the tree
TREE_INDENT = "&emsp;"  # the same in the tree table (Markdown trims plain leading spaces)
TABLE_KEY_PREFIX = "catalog-table"
TABLE_GENERATION = "_catalog_table_generation"
SEEN_REFRESH = "_catalog_seen_refresh"
FOR_SALE = {"Все": None, "Продаётся": True, "Не продаётся": False}
IN_SYNC = {"Все": None, "В выгрузке": True, "Не в выгрузке": False}
RULE_KINDS = {RuleTarget.STORE: "Магазин", RuleTarget.GROUP: "Группа", RuleTarget.PRODUCT: "Товар"}
COLUMNS = {
    "in_sync": st.column_config.CheckboxColumn("В выгрузке"),
    "name": st.column_config.TextColumn("Название", width="medium"),
    "reason": st.column_config.TextColumn("Причина", width="medium"),
    # Numbers come formatted by connhub.text («3 802,90»), whatever the browser's locale; empty when missing.
    "price": st.column_config.TextColumn("Цена, ₽"),
    "quantity": st.column_config.TextColumn("Остаток"),
    "measure": st.column_config.TextColumn("Ед.", width="small"),
    "group_name": st.column_config.TextColumn("Группа", width="medium"),
    "type": st.column_config.TextColumn("Тип"),
    "allow_to_sell": st.column_config.CheckboxColumn("Продаётся", width="small"),
    "code": st.column_config.TextColumn("Код", width="small"),
    "article": st.column_config.TextColumn("Артикул"),
    "barcodes": st.column_config.ListColumn("Штрихкоды"),
    "cost_price": st.column_config.TextColumn("Себестоимость, ₽"),
}

user = require_user()
rt = runtime()
providers = service.catalog_providers(rt)

st.title("Каталог", anchor=False)
show_queued_toast()

connection = service.connection_for(rt, user.id, providers)

if connection is None:
    titles = " или ".join(PROVIDER_INFO[key].title for key in providers) or "сервис с каталогом"
    st.info(Markup("Каталог появится, когда вы подключите {}: connhub загрузит магазины, группы "
                   "и товары и будет обновлять их сам.").format(titles), icon=":material/info:")
    st.page_link(ADD_PAGE, label="Добавить подключение", icon=":material/add_link:")
    st.stop()

info = PROVIDER_INFO[connection.provider]
if connection.status == Status.RECONNECT:
    st.error(Markup("{}: {}. Пока вы не подключите его заново, каталог не обновляется; ниже — последняя "
                    "загруженная копия.").format(info.title, connection.status_reason or "подключение не работает"),
             icon=":material/link_off:")
    st.page_link(service_page(info), label=f"Открыть {info.title}", icon=info.icon)


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# ----------------------------------------------------------------------------- actions

def ask_refresh(user_id: int, connection_id: int, store_id: str | None) -> None:
    job = service.ask_refresh(runtime(), user_id, connection_id, store_id)
    if job is not None:
        queue_toast("Обновление каталога запрошено — оно идёт в фоне", ":material/sync:")


def next_table_generation() -> None:
    """A new table key: the selection of rows that a rule was just made from is cleared."""
    st.session_state[TABLE_GENERATION] = st.session_state.get(TABLE_GENERATION, 0) + 1


def apply_rule(user_id: int, store_id: str, kind: RuleTarget, targets: Sequence[tuple[str, str]],
               mode: RuleMode) -> None:
    if not targets:
        return
    service.apply_rules(runtime(), user_id, store_id, kind, list(targets), mode)
    next_table_generation()
    queue_toast(service.rule_toast(kind, mode, [name for _, name in targets]), ":material/rule:")


def apply_tree_rule(user_id: int, store: StoreView, group_key: str, group_names: dict[str, str],
                    mode: RuleMode) -> None:
    """The rule for the group picked *now* (read at the click, not when the button was drawn: a click
    that lands while the page is redrawing for a new group must not act on the previous one)."""
    group_id = st.session_state.get(group_key, ALL_GROUPS)
    if group_id == ALL_GROUPS:
        apply_rule(user_id, store.store_id, RuleTarget.STORE, [(store.store_id, store.name)], mode)
    elif group_id in group_names:
        apply_rule(user_id, store.store_id, RuleTarget.GROUP, [(group_id, group_names[group_id])], mode)
    else:
        queue_toast("Этой группы уже нет в каталоге — выберите группу заново", ":material/error:")


def apply_to_selection(user_id: int, store_id: str, table_key: str, ids: list[str], names: list[str],
                       mode: RuleMode) -> None:
    state = st.session_state.get(table_key)
    rows = list(state.selection.rows) if state is not None else []
    targets = [(ids[i], names[i]) for i in rows if 0 <= i < len(ids)]
    apply_rule(user_id, store_id, RuleTarget.PRODUCT, targets, mode)


def remove_rule(user_id: int, rule_id: int) -> None:
    service.delete_rule(runtime(), user_id, rule_id)
    next_table_generation()


# ----------------------------------------------------------------------------- refresh panel

def refreshed_line(status: service.RefreshStatus) -> str:
    job = status.last_success
    if job is None:
        return "Каталог ещё не загружался."
    return service.refreshed_text(status, format_time(job.finished_at))


def _refresh_panel(user_id: int, connection_id: int, store_id: str | None, *, live: bool) -> None:
    status = service.refresh_state(runtime(), user_id, connection_id, store_id)
    latest = status.latest
    active = latest is not None and latest.active
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button("Обновить каталог", icon=":material/sync:", key="catalog-refresh", disabled=active,
               on_click=ask_refresh, args=(user_id, connection_id, store_id))
    if active and latest is not None:
        if latest.state == RefreshState.QUEUED:
            row.markdown(":material/schedule: Обновление ждёт своей очереди…")
        else:
            row.markdown(Markup(":material/progress_activity: Обновляем каталог: прочитано страниц — {}, "
                                "товаров и групп — {}…").format(latest.pages_read, latest.items_read))
    else:
        row.caption(Markup("{}").format(refreshed_line(status)))
    if latest is not None and latest.state == RefreshState.FAILED:
        st.error(Markup("Последнее обновление не удалось: {}").format(latest.error), icon=":material/error:")
    # A refresh finished since this page was drawn: draw it again with the new catalog.
    finished = status.last_success.id if status.last_success is not None else None
    changed = SEEN_REFRESH in st.session_state and st.session_state[SEEN_REFRESH] != finished
    st.session_state[SEEN_REFRESH] = finished
    if changed or (active and not live):
        st.rerun(scope="app")  # the new catalog, or the polling panel for a refresh that just started


@st.fragment(run_every=PROGRESS_SECONDS)
def _live_refresh_panel(user_id: int, connection_id: int, store_id: str | None) -> None:
    _refresh_panel(user_id, connection_id, store_id, live=True)


@st.fragment
def _still_refresh_panel(user_id: int, connection_id: int, store_id: str | None) -> None:
    _refresh_panel(user_id, connection_id, store_id, live=False)


def refresh_panel(user_id: int, connection_id: int, store_id: str | None, *, poll: bool = False) -> None:
    """The refresh button and line. It polls (a fragment every PROGRESS_SECONDS) only while a refresh
    is queued or running, or when `poll` says so: each run of a fragment drops the files that the
    page's «Скачать CSV» prepared, so an idle page must not rerun on its own."""
    latest = service.refresh_state(runtime(), user_id, connection_id, store_id).latest
    if poll or (latest is not None and latest.active):
        _live_refresh_panel(user_id, connection_id, store_id)
    else:
        _still_refresh_panel(user_id, connection_id, store_id)


# ----------------------------------------------------------------------------- the store

stores = service.stores_of(rt, user.id, connection.id, providers)

if not stores:
    refresh_panel(user.id, connection.id, None, poll=True)  # nothing to download yet: wait for the schedule too
    st.info("Каталог ещё не загружен. Нажмите «Обновить каталог»: загрузка идёт в фоне, страницу можно "
            "закрыть.", icon=":material/inventory_2:")
    st.stop()

store: StoreView = st.selectbox("Магазин", stores, format_func=attrgetter("name"), key="catalog-store")
store_index = stores.index(store)  # per-store widget keys: each store keeps its own group and type choice
refresh_panel(user.id, connection.id, store.store_id)

snapshot, rules = service.snapshot_and_rules(rt, user.id, connection.id, store.store_id)
if snapshot is None:
    st.info("Товары этого магазина ещё не загружены — нажмите «Обновить каталог».", icon=":material/inventory_2:")
    st.stop()

catalog: StoreCatalog = service.catalog_of(rt, snapshot)
evaluation = queries.evaluate(catalog, rules)
st.markdown(Markup("**{}**").format(queries.summary(catalog, evaluation).text()))
if evaluation.ruleset.has_includes:
    st.caption("Есть правила «Включить»: в выгрузке только то, что они покрывают (с учётом исключений внутри).")

tree_column, table_column = st.columns([1.5, 2.5], gap="medium")

# ----------------------------------------------------------------------------- the group tree


def group_tree(tree: Sequence[tuple[queries.GroupNode, int]]) -> None:
    """The groups as a Markdown table whose names wrap: a long name is read in full, never «…»."""
    rows = [Markup("| Группа | В выгрузке |"), Markup("|:--|--:|")]
    for node, in_sync in tree:
        mark = Markup(" :gray[(модификации)]") if node.is_modification_group else Markup("")
        rows.append(Markup("| {}{}{} | {}\u00a0из\u00a0{} |").format(Markup(TREE_INDENT * node.depth), node.name,
                                                                   mark, in_sync, node.product_count))
    with st.container(height=420 if len(tree) > 10 else None, border=False, key="catalog-tree"):
        st.markdown(Markup("\n").join(rows))


with tree_column:
    tree = queries.tree_rows(catalog, evaluation)
    labels = {ALL_GROUPS: f"Весь магазин · {len(catalog.products)}"}
    for node, _in_sync in tree:  # short enough to read in the closed box; the table says the rest
        labels[node.id] = f"{INDENT * node.depth}{node.name} · {node.product_count}"
    group_id = st.selectbox("Группа", list(labels), format_func=labels.__getitem__,
                            key=f"catalog-group-{store_index}")
    group_tree(tree)
    if group_id == ALL_GROUPS:
        decision = evaluation.ruleset.group_decision(None)
        st.caption(Markup("Магазин целиком — {}").format(lower_first(decision.reason)))
    else:
        decision = evaluation.ruleset.group_decision(group_id)
        st.caption(Markup("Группа «{}» и всё, что в ней, — {}").format(catalog.group_names[group_id],
                                                                         lower_first(decision.reason)))
    buttons = st.container(horizontal=True)
    tree_args = (user.id, store, f"catalog-group-{store_index}", catalog.group_names)
    buttons.button("Включить в выгрузку", key="tree-include", icon=":material/add_circle:",
                   on_click=apply_tree_rule, args=(*tree_args, RuleMode.INCLUDE))
    buttons.button("Исключить из выгрузки", key="tree-exclude", icon=":material/remove_circle:",
                   on_click=apply_tree_rule, args=(*tree_args, RuleMode.EXCLUDE))

# ----------------------------------------------------------------------------- the products

with table_column:
    # The search on a row of its own: its placeholder is read in full, never clipped.
    search = st.text_input("Поиск", placeholder="Название, код, артикул или штрихкод", key="catalog-search")
    type_names = service.type_names(rt, connection.provider)
    filters = st.container(horizontal=True, vertical_alignment="bottom")
    types = filters.multiselect("Тип", queries.product_types(catalog), key=f"catalog-types-{store_index}",
                                placeholder="Все типы", select_all=False, format_func=type_names.label)
    for_sale = filters.selectbox("Продажа", list(FOR_SALE), key="catalog-for-sale")
    in_sync = filters.selectbox("Выгрузка", list(IN_SYNC), key="catalog-in-sync")
    flt = TableFilter(group_id=None if group_id == ALL_GROUPS else group_id, search=search, types=tuple(types),
                      for_sale=FOR_SALE[for_sale], in_sync=IN_SYNC[in_sync])
    rows = queries.select_rows(catalog, evaluation, flt)

    table_key = f"{TABLE_KEY_PREFIX}-{st.session_state.get(TABLE_GENERATION, 0)}"
    st.dataframe(queries.table_view(rows, type_names), column_config=COLUMNS, hide_index=True, key=table_key,
                 on_select="rerun", selection_mode="multi-row", height=520)
    ids, names = rows["id"].tolist(), rows["name"].tolist()
    selected = st.session_state.get(table_key)
    count = len(selected.selection.rows) if selected is not None else 0
    actions = st.container(horizontal=True, vertical_alignment="center")
    actions.button("Включить в выгрузку", key="rows-include", icon=":material/add_circle:", disabled=not count,
                   on_click=apply_to_selection,
                   args=(user.id, store.store_id, table_key, ids, names, RuleMode.INCLUDE))
    actions.button("Исключить из выгрузки", key="rows-exclude", icon=":material/remove_circle:", disabled=not count,
                   on_click=apply_to_selection,
                   args=(user.id, store.store_id, table_key, ids, names, RuleMode.EXCLUDE))
    day = datetime.now(user_timezone()).date()
    file_name = queries.csv_filename(store.name, day)
    # Built only when clicked; a partial of a package function, so session state stays picklable.
    actions.download_button("Скачать CSV", data=partial(queries.csv_bytes, rows, dict(type_names)),
                            file_name=file_name, mime="text/csv", on_click="ignore", key="catalog-csv",
                            icon=":material/download:")
    actions.caption(f"Показано товаров: {len(rows)}" + (f", выбрано: {count}" if count else ""))

# ----------------------------------------------------------------------------- the rules

missing = {id(rule) for rule in evaluation.ruleset.missing(group_ids=catalog.groups,
                                                           product_ids=catalog.products["id"])}
with st.expander(f"Правила выгрузки ({len(rules)})", expanded=bool(rules), icon=":material/rule:"):
    if not rules:
        st.caption("Правил нет: в выгрузке весь каталог. Как только появится правило «Включить», в выгрузку "
                   "попадёт только то, что включено. Правило для товара сильнее правила для группы, правило "
                   "для вложенной группы сильнее правила для внешней, группа сильнее магазина; при равенстве "
                   "побеждает «Исключить».")
    for rule in rules:
        line = st.container(horizontal=True, vertical_alignment="center", key=f"rule-{rule.id}")
        verb = "Включить" if rule.mode == RuleMode.INCLUDE else "Исключить"
        label = catalog.group_names.get(rule.target_id) if rule.kind == RuleTarget.GROUP else None
        title = label or rule.name or rule.target_id
        line.markdown(Markup("**{}** · {} «{}»").format(verb, RULE_KINDS[rule.kind].lower(), title))
        if id(rule) in missing:
            line.badge("нет в каталоге", color="orange", icon=":material/help:")
        line.button("Удалить", key=f"rule-remove-{rule.id}", icon=":material/delete:", type="tertiary",
                    on_click=remove_rule, args=(user.id, rule.id))
