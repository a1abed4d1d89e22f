"""Синхронизация: what goes where, the policies, the readiness checklist and the master toggle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from connhub.models import utcnow
from connhub.sync import config, policies, service, target
from connhub.sync.config import CannotEnable, Choices, ConfirmationOutdated, InvalidSettings, SyncConfigView
from connhub.sync.policies import NOT_FOR_SALE_LABELS, REMOVED_LABELS, ZERO_PRICE_LABELS
from connhub.sync.status import SyncStatus, switch_on, sync_status
from pages import sync_runs
from pages.ui import shop_options, sync_schedule
from pages.ui.markup import lines
from pages.ui.notices import queue_toast, show_queued_toast
from pages.ui.routes import ADD_PAGE, CATALOG_PAGE
from pages.ui.session import require_user, runtime
from pages.ui.text import Markup, format_time, md

KEY = "sync-"  # widget keys: KEY + field name
ENABLED_KEY = "sync-enabled"
PENDING_ENABLE_KEY = "_connhub_sync_pending_enable"
ERRORS_KEY = "_connhub_sync_errors"
LOADED_KEY = "_connhub_sync_loaded"  # the configuration version the widgets were filled from
TARGETS_KEY = "_connhub_sync_targets"
TARGETS_TTL = timedelta(minutes=5)
READINESS_REFRESH_SECONDS = 10
GOODS_HELP = ("Включите товары во ВКонтакте: откройте сообщество → «Управление» → «Разделы» → «Товары» → "
              "«Включены» (или «Расширенные»), сохраните и нажмите «Обновить список» здесь.")

user = require_user()
rt = runtime()

st.title("Синхронизация", icon=":material/sync:", anchor=False)
show_queued_toast()


# ----------------------------------------------------------------------------- state


def load_status() -> SyncStatus:
    return sync_status(rt, user.id)


def target_choices(status: SyncStatus) -> tuple[target.TargetOptions, bool]:
    """The communities and categories, listed live at most every few minutes per session and
    connection; True when what VK said about the saved community was new (reload the status)."""
    if status.target is None:
        return target.TargetOptions(None, None), False
    cached = st.session_state.get(TARGETS_KEY)
    if cached is not None and cached[0] == status.target.id and utcnow() - cached[1] < TARGETS_TTL:
        return cached[2], False
    with st.spinner("Загружаем сообщества и категории ВКонтакте…"):
        options = target.target_options(rt, user.id)
    st.session_state[TARGETS_KEY] = (status.target.id, utcnow(), options)
    saved = status.config.settings
    if options.communities is None or saved.vk_group_id not in options.communities:
        return options, False
    fresh = options.communities[saved.vk_group_id]
    if (fresh.name, fresh.goods_enabled) == (saved.vk_group_name, saved.vk_group_goods_enabled):
        return options, False
    service.note_community(rt, user.id, fresh)
    return options, True


def refresh_targets() -> None:
    st.session_state.pop(TARGETS_KEY, None)


def fill_widgets(view: SyncConfigView) -> None:
    """Put the saved values into the widgets, once per saved version."""
    version = (view.exists, view.updated_at)
    if st.session_state.get(LOADED_KEY) == version:
        return
    settings, chosen = view.settings, view.settings.policies
    values: dict[str, Any] = {
        "store_id": settings.store_id or None,
        "vk_group_id": settings.vk_group_id,
        "vk_category_id": settings.vk_category_id,
        "on_removed": chosen.on_removed.value,
        "on_not_for_sale": chosen.on_not_for_sale.value,
        "on_zero_price": chosen.on_zero_price.value,
        "price_multiplier": policies.format_multiplier(chosen.price_multiplier).replace(".", ","),
        "description_template": chosen.description_template,
    }
    for name, value in values.items():
        st.session_state[KEY + name] = value
    st.session_state[LOADED_KEY] = version


def form_values() -> dict[str, object]:
    return {name: st.session_state.get(KEY + name) for name in config.FIELDS}


# ----------------------------------------------------------------------------- actions (callbacks)


def save(choices: Choices) -> None:
    try:
        service.save_settings(runtime(), user.id, form_values(), choices)
    except InvalidSettings as exc:
        st.session_state[ERRORS_KEY] = exc.errors
        return
    st.session_state.pop(ERRORS_KEY, None)
    st.session_state.pop(LOADED_KEY, None)
    queue_toast("Настройки синхронизации сохранены", ":material/check_circle:")


def on_toggle() -> None:
    if st.session_state.get(ENABLED_KEY):
        st.session_state[ENABLED_KEY] = False  # stays off until the confirmation
        now = sync_status(runtime(), user.id)
        st.session_state[PENDING_ENABLE_KEY] = {
            "snapshot": now.snapshot,
            "text": service.confirmation_text(runtime(), user.id, now),
            "ready": now.readiness.ready,
        }
        return
    service.switch_off(runtime(), user.id)
    queue_toast("Синхронизация выключена", ":material/sync_disabled:")


def reconfirm() -> None:
    st.session_state[ENABLED_KEY] = True
    on_toggle()


def cancel_enable() -> None:
    st.session_state.pop(PENDING_ENABLE_KEY, None)


def confirm_enable(shown: dict[str, Any]) -> None:
    cancel_enable()
    try:
        switch_on(runtime(), user.id, confirmed_by=user.label, shown=shown)
    except (ConfirmationOutdated, CannotEnable) as exc:
        queue_toast(str(exc), ":material/error:")
        return
    queue_toast("Синхронизация включена", ":material/sync:")


@st.dialog("Включить синхронизацию?", on_dismiss=cancel_enable)
def confirm_dialog(pending: dict[str, Any]) -> None:
    st.write(pending["text"])
    if not pending["ready"]:
        st.warning("Не всё готово (см. «Готовность»): пока проблемы не исправлены, синхронизация не запустится.",
                   icon=":material/warning:")
    st.caption("Подтверждение запомнится: кто и когда включил и что именно было подтверждено.")
    buttons = st.container(horizontal=True)
    if buttons.button("Включить", type="primary", key="confirm-enable", icon=":material/sync:",
                      on_click=confirm_enable, args=(pending["snapshot"],)):
        st.rerun()
    if buttons.button("Отмена", key="cancel-enable", on_click=cancel_enable):
        st.rerun()


# ----------------------------------------------------------------------------- sections


def toggle_section(status: SyncStatus) -> None:
    view, settings = status.config, status.config.settings
    st.session_state[ENABLED_KEY] = view.is_on
    missing = service.missing_to_enable(settings)
    need = Markup("Сначала выберите и сохраните: {}").format(", ".join(missing)) if missing else None
    st.toggle("Синхронизация включена", key=ENABLED_KEY, on_change=on_toggle, disabled=bool(missing) and not view.is_on,
              help=need)
    if view.is_on:
        st.caption(Markup("Включена {}, подтвердил(а) {}").format(format_time(view.confirmed_at), view.confirmed_by))
        if not status.readiness.ready:
            st.warning("Синхронизация включена, но не запустится, пока не исправлены красные пункты «Готовности».",
                       icon=":material/warning:")
        if status.changes:
            st.warning(Markup("С момента подтверждения изменилось:\n\n") + lines(status.changes, bullet=True) +
                       Markup("\n\nСинхронизация остаётся включённой и выгружает то, что настроено сейчас."),
                       icon=":material/published_with_changes:")
            st.button("Подтвердить заново", key="reconfirm", icon=":material/task_alt:", on_click=reconfirm)
    elif missing:
        st.caption(Markup("Чтобы включить, выберите и сохраните: {}.").format(", ".join(missing)))
    else:
        st.caption("Выключена. Включение попросит подтвердить, что и куда будет выгружено.")


@st.fragment(run_every=READINESS_REFRESH_SECONDS)
def readiness_section() -> None:
    """The checklist, re-read on its own: the checker changes connections and rights meanwhile."""
    st.subheader("Готовность", anchor=False)
    for item in load_status().readiness.lines:
        with st.container(key=f"ready-{item.check}"):
            if item.ok:
                st.markdown(Markup(":green[:material/check_circle:] {}").format(item.message))
            else:
                st.markdown(Markup(":red[:material/cancel:] **{}**").format(item.message))
                if item.fix:
                    st.caption(md(item.fix))


def show_error(field: str) -> None:
    message = st.session_state.get(ERRORS_KEY, {}).get(field)
    if message:
        st.error(md(message), icon=":material/error:")


def source_section(status: SyncStatus) -> dict[str, str] | None:
    st.subheader(f"Откуда: магазин {status.roles.source_title}", anchor=False)
    if status.source is None:
        st.info(Markup("{} не подключён.").format(status.roles.source_title), icon=":material/link_off:")
        st.page_link(ADD_PAGE, label="Подключить", icon=":material/add_link:")
        return None
    stores = service.store_choices(rt, user.id, status.source.id)
    settings = status.config.settings
    names = dict(stores)
    if settings.store_id and settings.store_id not in names:
        names[settings.store_id] = f"{settings.store_name} (нет в каталоге)"
    if not stores:
        st.info("Каталог ещё не загружен: магазины появятся после обновления каталога.",
                icon=":material/inventory_2:")
        catalog_link()
    # format_func must survive pickling (enforceSerializableSessionState): a dict's bound get does.
    st.selectbox("Магазин", options=list(names), key=KEY + "store_id", format_func=names.get,
                 placeholder="— не выбран —")
    show_error("store_id")
    return stores


def target_section(status: SyncStatus, options: target.TargetOptions) -> None:
    st.subheader(f"Куда: сообщество {status.roles.target_title}", anchor=False)
    if status.target is None:
        st.info(Markup("{} не подключён.").format(status.roles.target_title), icon=":material/link_off:")
        st.page_link(ADD_PAGE, label="Подключить", icon=":material/add_link:")
        return
    settings = status.config.settings
    if options.error:
        st.warning(md(options.error), icon=":material/warning:")
    communities = dict(options.communities or {})
    if settings.vk_group_id is not None and settings.vk_group_id not in communities:
        communities[settings.vk_group_id] = config.Community(settings.vk_group_id, settings.vk_group_name,
                                                             settings.vk_group_goods_enabled)

    labels = {group_id: f"{community.name} — товары {'включены' if community.goods_enabled else 'выключены'}"
              for group_id, community in communities.items()}
    row = st.container(horizontal=True, vertical_alignment="bottom")
    # An empty list says so in the box itself (Streamlit's own words for it are English).
    row.selectbox("Сообщество", options=list(labels), key=KEY + "vk_group_id", format_func=labels.get,
                  placeholder="— не выбрано —" if labels else "— нет сообществ —", disabled=not labels)
    row.button("Обновить список", key="refresh-targets", icon=":material/refresh:", on_click=refresh_targets)
    show_error("vk_group_id")
    if options.communities is not None and not options.communities:
        st.caption("Вы не администратор и не редактор ни одного сообщества ВКонтакте.")
    chosen = st.session_state.get(KEY + "vk_group_id")
    if chosen is not None and chosen in communities and not communities[chosen].goods_enabled:
        st.warning(Markup("В сообществе «{}» выключены товары. {}").format(communities[chosen].name, GOODS_HELP),
                   icon=":material/storefront:")

    categories = dict(options.categories or {})
    if settings.vk_category_id is not None and settings.vk_category_id not in categories:
        categories[settings.vk_category_id] = settings.vk_category_name or str(settings.vk_category_id)
    st.selectbox("Категория товаров ВКонтакте (для новых товаров)", options=list(categories),
                 key=KEY + "vk_category_id", format_func=categories.get, placeholder="— не выбрана —")
    show_error("vk_category_id")


def policies_section(status: SyncStatus) -> None:
    st.subheader("Правила выгрузки", anchor=False)
    for name, title, labels in (
        ("on_removed", "Товар исключён из выгрузки или удалён в Эвотор", REMOVED_LABELS),
        ("on_not_for_sale", "Товар не для продажи", NOT_FOR_SALE_LABELS),
        ("on_zero_price", "Нулевая цена", ZERO_PRICE_LABELS),
    ):
        by_value = {policy.value: label for policy, label in labels.items()}
        st.radio(title, options=list(by_value), key=KEY + name, horizontal=True, format_func=by_value.get)
        show_error(name)
    st.text_input("Множитель цены", key=KEY + "price_multiplier",
                  help="Цена во ВКонтакте = цена в Эвотор × множитель; больше нуля, "
                       "не больше двух знаков после запятой")
    show_error("price_multiplier")
    st.text_area("Шаблон описания", key=KEY + "description_template", height=80)
    st.caption("Поля: " + ", ".join(f"`{{{name}}}` — {meaning}" for name, meaning in policies.PLACEHOLDERS.items()) +
               ". Блок `{поле:текст}` пишется, только если поле у товара не пустое: "
               "`{article:Артикул: {article}. }`. Ссылки ВКонтакте не принимает; описание — не короче 10 символов.")
    show_error("description_template")
    preview(status)


def preview(status: SyncStatus) -> None:
    shown = service.preview_item(rt, user.id, status, form_values())
    if shown is None:
        return
    with st.container(border=True, key="template-preview"):
        st.caption(Markup("Предпросмотр на товаре «{}»").format(shown.product_name))
        if shown.problem:
            st.caption(Markup("Предпросмотр недоступен: {}").format(shown.problem))
        elif shown.skipped:
            st.caption(Markup("Этот товар не будет выгружен: {}").format(shown.skipped))
        else:
            st.markdown(Markup("**{}**").format(shown.name))
            st.text(shown.description)
            st.markdown(Markup("Цена: {}{}").format(shown.price, " · скрыт" if shown.hidden else ""))
    blank = service.preview_blank(rt, user.id, status, form_values())
    if blank is not None and blank[1].description and not blank[1].problem:
        with st.container(border=True, key="template-preview-blank"):
            st.caption(Markup("Товар без поля {}: «{}»").format("{" + blank[0] + "}", blank[1].product_name))
            st.text(blank[1].description)


def catalog_link() -> None:
    st.page_link(CATALOG_PAGE, label="Открыть каталог и правила отбора", icon=":material/inventory_2:")


def summary_section(status: SyncStatus) -> None:
    st.subheader("Что выгружается", anchor=False)
    if status.selection is None:
        st.caption("Выберите магазин и загрузите его каталог — здесь появится сводка правил отбора.")
    else:
        st.markdown(md(status.selection.summary_text()))
    catalog_link()


# ----------------------------------------------------------------------------- the page

status = load_status()
options, noted = target_choices(status)
if noted:
    status = load_status()
fill_widgets(status.config)

toggle_section(status)
sync_schedule.section(user.id, status.config.is_on)
readiness_section()
st.divider()
stores = source_section(status)
target_section(status, options)
policies_section(status)
shop_options.section(rt, user.id)
choices = Choices(stores=stores, communities=options.communities, categories=options.categories)
if st.session_state.get(ERRORS_KEY):
    st.error("Настройки не сохранены: исправьте отмеченные поля.", icon=":material/error:")
st.button("Сохранить", type="primary", key="save-sync", icon=":material/save:", on_click=save, args=(choices,))
st.divider()
summary_section(status)
st.divider()
sync_runs.section(status, user.id, user.label)

pending = st.session_state.get(PENDING_ENABLE_KEY)
if pending is not None:
    confirm_dialog(pending)
