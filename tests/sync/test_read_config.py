"""run/read_config.py: its JSON and env output, exit codes, users and the token rules."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys

import pytest

from connhub.models import Status
from connhub.runtime import Runtime
from connhub.sync import readout
from connhub.users import LOCAL_SUBJECT, ensure_user
from tests.support.connect import make_user
from tests.support.sync import (
    GROUP,
    STORE,
    connect_both,
    env_of,
    load_catalog,
    ready_user,
    save_config,
    switch_on,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "run", "read_config.py")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(rt: Runtime, *args: str, stdout: io.StringIO | None = None) -> tuple[int, str, str]:
    out, err = stdout or io.StringIO(), io.StringIO()
    code = readout.main(list(args), stdout=out, stderr=err,
                        runtime_factory=lambda: Runtime.from_settings(rt.settings))
    return code, out.getvalue(), err.getvalue()


def run_json(rt: Runtime, *args: str) -> tuple[int, dict]:
    code, out, err = run(rt, *args)
    assert out, err
    return code, json.loads(out)


def test_ready_to_sync_exits_0_with_everything_a_sync_needs(rt, alice, sandbox_control):
    ready_user(rt, sandbox_control, alice)
    code, data = run_json(rt)
    assert code == 0
    assert data["user"] == alice.subject
    assert data["enabled"] is True and data["ready"] is True and data["problems"] == []
    assert data["confirmed_at"] and data["confirmed_by"] == alice.email
    assert data["evotor"] == {"store_id": STORE, "store_name": "Чайная", "status": "online"}
    assert data["vk"] == {"group_id": GROUP, "group_name": "Магазин у дома", "goods_enabled": True,
                          "category_id": 500, "category_name": "Продукты питания / Напитки",
                          "status": "online", "rights": ["groups", "market", "photos"]}
    assert data["policies"] == {"on_removed": "hide", "on_not_for_sale": "hide", "on_zero_price": "skip",
                                "price_multiplier": "1.00", "description_template": "{name} (цена за {measure})"}
    assert sorted(data["products"]) == ["p-assam", "p-espresso", "p-gyokuro", "p-latte", "p-sencha"]
    assert data["rules"] == [] and data["catalog_refreshed_at"]
    assert "token" not in data["evotor"] and "token" not in data["vk"]
    assert "placeholder" not in json.dumps(data)


def test_rules_and_the_products_they_select_are_reported(rt, alice, sandbox_control):
    from tests.support.sync import add_rule

    ready_user(rt, sandbox_control, alice)
    add_rule(rt, alice, "group", "g-coffee", "include", name="Кофе")
    code, data = run_json(rt)
    assert data["rules"] == [{"kind": "group", "target_id": "g-coffee", "mode": "include", "name": "Кофе"}]
    assert sorted(data["products"]) == ["p-espresso", "p-latte"]
    assert data["changed_since_confirmation"] == ["Товаров в выгрузке: было 5, теперь 2"]
    assert code == 0  # a change since the confirmation keeps the sync on


def test_with_no_user_at_all_the_sync_is_simply_off(rt):
    code, data = run_json(rt)
    assert code == 3
    assert data["user"] is None and data["enabled"] is False and data["ready"] is False
    assert data["products"] == []


def test_a_user_without_a_configuration_is_off(rt, alice):
    code, data = run_json(rt)
    assert code == 3
    assert data["user"] == alice.subject and data["enabled"] is False
    assert data["evotor"]["status"] == "not_connected"


def test_configured_but_never_confirmed_is_off_and_says_what_is_missing(rt, alice, sandbox_control):
    source_id, _ = connect_both(rt, sandbox_control, alice)
    load_catalog(rt, source_id)
    save_config(rt, alice, vk_category_id="")
    code, data = run_json(rt)
    assert code == 3
    assert data["enabled"] is False and data["confirmed_at"] is None
    assert data["problems"] == [{"code": "category.not_chosen", "message": "Категория товаров не выбрана"}]


def test_switched_off_after_a_confirmation_is_off(rt, alice, sandbox_control):
    from connhub.sync import config

    ready_user(rt, sandbox_control, alice)
    with rt.sessions.begin() as session:
        config.disable(session, alice.id)
    code, data = run_json(rt)
    assert code == 3 and data["enabled"] is False and data["ready"] is True


def test_switched_on_but_not_ready_exits_4_with_the_problems(rt, alice, sandbox_control):
    from sqlalchemy import update

    from connhub.models import Connection

    ready_user(rt, sandbox_control, alice)
    with rt.sessions() as session:
        session.execute(update(Connection).where(Connection.provider == "vk")
                        .values(status=Status.RECONNECT, status_reason="ВКонтакте отклонил токен"))
        session.commit()
    code, data = run_json(rt)
    assert code == 4
    assert data["enabled"] is True and data["ready"] is False
    assert data["problems"] == [{"code": "target_connection.reconnect",
                                 "message": "ВКонтакте требует переподключения: ВКонтакте отклонил токен"}]


def test_with_several_users_the_user_must_be_named(rt, alice, bob, sandbox_control):
    ready_user(rt, sandbox_control, alice)
    code, out, err = run(rt)
    assert code == 2 and out == ""
    assert "--user" in err
    code, data = run_json(rt, "--user", "alice@example.test")
    assert code == 0 and data["user"] == alice.subject
    code, data = run_json(rt, "--user", "bob")  # the OIDC subject as the identity provider knows it
    assert code == 3 and data["user"] == bob.subject
    code, data = run_json(rt, "--user", bob.subject)
    assert data["user"] == bob.subject


def test_an_unknown_user_is_bad_usage(rt, alice):
    code, out, err = run(rt, "--user", "nobody@example.test")
    assert code == 2 and out == ""
    assert "«nobody@example.test» не найден" in err


def test_the_local_operator_is_found_by_its_subject(rt):
    with rt.sessions() as session:
        ensure_user(session, subject=LOCAL_SUBJECT, name="Локальный оператор")
    make_user(rt, "carol")
    code, data = run_json(rt, "--user", "local")
    assert code == 3 and data["user"] == "local"


@pytest.mark.parametrize("args", [["--format", "xml"], ["--bogus"], ["extra"]])
def test_bad_arguments_are_bad_usage(rt, args):
    code, out, err = run(rt, *args)
    assert code == 2 and out == ""
    assert "usage" in err


def test_env_format_prints_quoted_assignments_that_eval_safely(rt, alice, sandbox_control):
    source_id, _ = connect_both(rt, sandbox_control, alice)
    load_catalog(rt, source_id, store_name="Чайная")
    hostile = "Чай'; touch /tmp/pwned-connhub; echo '$(id) `id` \"x\"\nвторая строка"
    from sqlalchemy import update

    from connhub.models import SyncConfig

    save_config(rt, alice)
    switch_on(rt, alice)
    with rt.sessions() as session:
        session.execute(update(SyncConfig).values(evotor_store_name=hostile))
        session.commit()
    code, out, _err = run(rt, "--format", "env")
    assert code == 0
    names = [line.split("=", 1)[0] for line in out.splitlines() if line.startswith("CONNHUB_SYNC_")]
    assert {"CONNHUB_SYNC_ENABLED", "CONNHUB_SYNC_READY", "CONNHUB_SYNC_EVOTOR_STORE_ID",
            "CONNHUB_SYNC_VK_GROUP_ID", "CONNHUB_SYNC_PRICE_MULTIPLIER"} <= set(names)
    script = f'set -euo pipefail\neval {shlex.quote(out)}\nprintf "%s\\0" "$CONNHUB_SYNC_ENABLED" ' \
             '"$CONNHUB_SYNC_READY" "$CONNHUB_SYNC_EVOTOR_STORE_NAME" "$CONNHUB_SYNC_VK_GROUP_ID" ' \
             '"$CONNHUB_SYNC_DESCRIPTION_TEMPLATE" "$CONNHUB_SYNC_PRODUCTS_COUNT" "$CONNHUB_SYNC_PROBLEMS"'
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30, check=True)
    values = done.stdout.decode().split("\0")[:-1]
    assert values == ["1", "1", hostile, str(GROUP), "{name} (цена за {measure})", "5", ""]
    assert not os.path.exists("/tmp/pwned-connhub")


def test_tokens_are_added_only_when_asked(rt, alice, sandbox_control):
    ready_user(rt, sandbox_control, alice)
    code, data = run_json(rt, "--with-tokens")
    assert code == 0
    assert data["evotor"]["token"] == "placeholder-evotor-token"
    assert data["vk"]["token"] == "placeholder-vk-token"
    code, out, _ = run(rt, "--format", "env", "--with-tokens")
    assert "CONNHUB_SYNC_VK_TOKEN=placeholder-vk-token" in out.splitlines()
    code, out, _ = run(rt, "--format", "env")
    assert "TOKEN" not in out and "placeholder" not in out


def test_tokens_are_never_printed_to_a_terminal(rt, alice, sandbox_control):
    ready_user(rt, sandbox_control, alice)
    terminal = Terminal()
    code, out, err = run(rt, "--with-tokens", stdout=terminal)
    assert code == 2 and out == ""
    assert "не печатает токены в терминал" in err
    code, out, _ = run(rt, stdout=Terminal())  # without tokens a terminal is fine
    assert code == 0 and "placeholder" not in out


@pytest.mark.sqlite_only("the broken database is an SQLite path")
def test_a_broken_database_is_an_unexpected_error(tmp_path, rt):
    settings = rt.settings.model_copy(update={"DATABASE_URL": f"sqlite:///{tmp_path}/missing/../empty.db"})
    out, err = io.StringIO(), io.StringIO()
    code = readout.main([], stdout=out, stderr=err, runtime_factory=lambda: Runtime.from_settings(settings))
    assert code == 1 and out.getvalue() == ""
    assert "непредвиденная ошибка" in err.getvalue()


def test_the_script_runs_as_a_command(rt, alice, sandbox_control):
    ready_user(rt, sandbox_control, alice)
    done = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, env=env_of(rt), timeout=60,
                          cwd=str(rt.settings.CONNHUB_DATA_DIR))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ready"] is True


def test_an_expiring_vk_token_is_refreshed_before_it_is_handed_out(rt, alice):
    from datetime import timedelta

    from connhub.models import Connection, utcnow
    from tests.support.connect import connect as oauth_connect

    connection_id = oauth_connect(rt, alice, "vk")
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        old_token = rt.cipher.open(row.access_token_sealed).reveal()
        row.token_expires_at = utcnow() + timedelta(minutes=1)  # inside the refresh margin
        version = row.token_version
        session.commit()
    code, data = run_json(rt, "--with-tokens")
    assert code == 3  # not configured: still printed
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        assert row.token_version == version + 1
        assert data["vk"]["token"] == rt.cipher.open(row.access_token_sealed).reveal() != old_token
