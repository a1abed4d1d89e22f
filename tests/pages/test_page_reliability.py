"""Issue 7 on the pages: a key that does not fit, a foreign Host in local mode, provider text as
Markdown, and formula cells in what the tables offer as CSV downloads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import update

from connhub.models import CheckRecord, CheckSource, Connection, Outcome, Status, utcnow
from tests.pages.helpers import add_connection, badges, card, page_text, titles

VK = "vk"  # the service page's url path


def test_a_key_that_does_not_open_the_stored_tokens_shows_a_banner_and_keeps_the_statuses(
        open_app, app_rt, sandbox_control, alice):
    add_connection(app_rt, sandbox_control, alice, "vk", status=Status.ONLINE)
    add_connection(app_rt, sandbox_control, alice, "evotor", status=Status.OFFLINE, reason="Эвотор недоступен")
    foreign = Fernet(Fernet.generate_key())
    with app_rt.sessions() as session:  # as if CONNHUB_SECRET_KEY had been changed
        session.execute(update(Connection).values(access_token_sealed=foreign.encrypt(b"token").decode()))
        session.commit()

    at = open_app(alice)

    assert not at.exception
    text = page_text(at)
    assert "Ключ шифрования connhub не подходит к сохранённым токенам" in text
    assert "подключений с нечитаемым токеном: 2" in text
    assert "CONNHUB_SECRET_KEY" in text
    assert badges(card(at, "vk")) == [("green", "В сети")]  # not «Требуется переподключение»
    assert badges(card(at, "evotor")) == [("red", "Нет связи")]


def test_no_key_banner_while_the_key_fits(open_app, app_rt, sandbox_control, alice):
    add_connection(app_rt, sandbox_control, alice, "vk")
    assert "Ключ шифрования" not in page_text(open_app(alice))


@pytest.mark.parametrize("url", ["http://evil.example:8501/", "http://192.168.1.10:8501/", "http://connhub/"])
def test_local_mode_refuses_a_page_opened_by_a_foreign_host_name(open_app, server_address, app_rt, url):
    server_address("127.0.0.1")
    at = open_app(None, auth=False, url=url)
    assert not at.exception
    text = page_text(at)
    assert "эта страница открыта по имени" in text
    assert "secrets.toml.example" in text and "[auth]" in text
    assert "Подключения" not in titles(at) and at.button == []


@pytest.mark.parametrize("url", ["http://localhost:8501/", "http://127.0.0.1:8501/connections", "http://[::1]:8501/"])
def test_local_mode_serves_a_page_opened_by_a_loopback_name(open_app, server_address, app_rt, url):
    server_address("127.0.0.1")
    at = open_app(None, auth=False, url=url)
    assert not at.exception
    assert "Подключения" in titles(at)


def test_provider_text_cannot_form_markdown_blocks(open_app, app_rt, sandbox_control, alice):
    add_connection(app_rt, sandbox_control, alice, "vk")
    with app_rt.sessions() as session:
        session.execute(update(Connection).values(display_name="Иван\n\n    code block\n# Заголовок\n- пункт"))
        session.commit()
    at = open_app(alice)
    bodies = [element.value for element in card(at, "vk").markdown]
    assert any("Иван" in body for body in bodies)
    assert all("\n" not in body and "    " not in body for body in bodies if "Иван" in body)


def test_the_check_history_offered_for_download_has_formula_cells_neutralised(open_app, app_rt, sandbox_control, alice):
    connection_id = add_connection(app_rt, sandbox_control, alice, "vk")
    with app_rt.sessions() as session:
        for n, reason in enumerate(["=HYPERLINK(\"http://evil\")", "+7 900", "@SUM(A1)", "обычный текст"]):
            session.add(CheckRecord(connection_id=connection_id, checked_at=utcnow() - timedelta(minutes=n),
                                    source=CheckSource.CHECKER, outcome=Outcome.TROUBLE,
                                    status_after=Status.ONLINE, reason=reason, latency_ms=-5 if n == 0 else 40))
        session.commit()
    at = open_app(alice, page=VK)
    assert not at.exception
    reasons = list(at.dataframe[-1].value["Причина"])
    assert reasons == ["'=HYPERLINK(\"http://evil\")", "'+7 900", "'@SUM(A1)", "обычный текст"]
    # numbers read as numbers (a typographic minus: no formula, no apostrophe)
    assert list(at.dataframe[-1].value["Задержка, мс"]) == ["\u22125", "40", "40", "40"]
