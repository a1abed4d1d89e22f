"""Rows 7, 8 and 13 of issue 7: a lost, changed or half-written key is a local matter, said plainly."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

from cryptography.fernet import Fernet
from sqlalchemy import update

from connhub.config import PROJECT_ROOT
from connhub.crypto import KEY_FILE_NAME, Secret, cipher_from_settings
from connhub.models import Connection, Status
from tests.support.checker import checker_env, connection, run_checker, seed
from tests.support.sandbox import settings_for

RACES = 300


def test_a_deleted_key_file_is_not_replaced_while_sealed_tokens_exist(make_hostile_rt, tmp_path):
    rt = make_hostile_rt(CONNHUB_SECRET_KEY="")  # the key lives in data/secret.key
    shop = seed(rt, "shop", "evotor")
    sealed_before = connection(rt, shop).access_token_sealed
    (tmp_path / KEY_FILE_NAME).unlink()

    run = run_checker(rt, "--once", CONNHUB_SECRET_KEY="")

    assert run.returncode == 2
    assert "Traceback" not in run.log
    assert f"the key file {tmp_path / KEY_FILE_NAME} is missing" in run.log
    assert "1 sealed token(s)" in run.log
    assert not (tmp_path / KEY_FILE_NAME).exists()  # no new key was made up
    after = connection(rt, shop)
    assert after.access_token_sealed == sealed_before
    assert after.status == Status.ONLINE


def test_a_key_file_is_still_generated_on_a_fresh_machine(make_hostile_rt, tmp_path):
    rt = make_hostile_rt(CONNHUB_SECRET_KEY="")
    assert (tmp_path / KEY_FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert rt.cipher.open(rt.cipher.seal(Secret("token"))) == Secret("token")


def _start_many(data_dirs: list[str], barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue) -> None:
    for data_dir in data_dirs:
        barrier.wait()
        settings = settings_for(data_dir, CONNHUB_SECRET_KEY="", DATABASE_URL=f"sqlite:///{data_dir}/x.db")
        try:
            cipher = cipher_from_settings(settings)
            out.put((data_dir, cipher.seal(Secret("probe"))))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            out.put((data_dir, f"error: {exc}"))


def test_two_processes_starting_at_once_on_a_fresh_machine_share_one_whole_key(tmp_path):
    data_dirs = [str(tmp_path / f"machine{n}") for n in range(RACES)]
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_start_many, args=(data_dirs, barrier, out)) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=120) for _ in range(2 * RACES)]
    for worker in workers:
        worker.join(timeout=60)

    errors = [result for _, result in results if result.startswith("error")]
    assert errors == []  # before: 106 of 300 races raised "key file ... is corrupt"
    by_dir: dict[str, list[str]] = {}
    for data_dir, sealed in results:
        by_dir.setdefault(data_dir, []).append(sealed)
    assert by_dir
    for data_dir, sealed in by_dir.items():  # both processes hold the one key in the file
        key = (tmp_path / data_dir / KEY_FILE_NAME).read_bytes().strip()
        assert all(Fernet(key).decrypt(token.encode()) == b"probe" for token in sealed)


def test_reseal_names_every_row_it_cannot_open_and_reseals_the_others(make_hostile_rt):
    old, new, unlisted = (Fernet.generate_key().decode() for _ in range(3))
    rt = make_hostile_rt(CONNHUB_SECRET_KEY=old)
    first, stray, last = seed(rt, "first", "evotor"), seed(rt, "stray", "vk", refresh=True), seed(rt, "last", "evotor")
    foreign = Fernet(unlisted.encode())
    with rt.sessions() as session:
        session.execute(update(Connection).where(Connection.id == stray).values(
            refresh_token_sealed=foreign.encrypt(b"refresh").decode()))
        session.commit()

    done = subprocess.run([sys.executable, "-m", "connhub.keys", "reseal"], cwd=PROJECT_ROOT,
                          env=checker_env(rt, CONNHUB_SECRET_KEY=f"{new},{old}"), capture_output=True, text=True,
                          timeout=120)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"connections id={stray}: refresh_token_sealed" in done.stderr
    assert "re-sealed 2 rows" in done.stdout
    primary = Fernet(new.encode())
    for resealed, name in ((first, "first"), (last, "last")):
        assert primary.decrypt(connection(rt, resealed).access_token_sealed.encode()) == f"access-{name}".encode()
    assert foreign.decrypt(connection(rt, stray).refresh_token_sealed.encode()) == b"refresh"  # left as it was


def test_a_changed_key_leaves_every_status_alone_and_the_checker_says_so_once_per_cycle(hostile, make_hostile_rt):
    rt = make_hostile_rt()
    hostile.answer("GET", "/evotor-api/stores", json_body={"items": [{"id": "s-1", "name": "Чайная"}]})
    shops = [seed(rt, f"shop{n}", "evotor") for n in range(2)]
    person = seed(rt, "person", "vk", status=Status.OFFLINE)

    run = run_checker(rt, "--once", CONNHUB_SECRET_KEY=Fernet.generate_key().decode())

    assert run.returncode == 0, run.log
    assert run.log.count("have tokens that the configured encryption key cannot open") == 1
    assert "3 connection(s) have tokens" in run.log
    for row, status in ((shops[0], Status.ONLINE), (shops[1], Status.ONLINE), (person, Status.OFFLINE)):
        after = connection(rt, row)
        assert after.status == status  # not «Требуется переподключение»: the user did nothing wrong
        assert after.lease_owner is None
        assert after.next_check_at is not None and after.next_check_at > after.updated_at  # not retried at once


def test_the_callback_answers_a_flow_sealed_under_another_key_with_a_clear_message(make_hostile_rt):
    from connhub.oauth import begin_authorization, complete_authorization
    from tests.support.connect import make_user

    before = make_hostile_rt(CONNHUB_SECRET_KEY=Fernet.generate_key().decode())
    owner = make_user(before, "owner")
    url = begin_authorization(before, user_id=owner.id, provider="vk")
    state = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))["state"]
    after = make_hostile_rt(CONNHUB_SECRET_KEY=Fernet.generate_key().decode())

    result = complete_authorization(after, user_id=owner.id, params={"state": state, "code": "c", "device_id": "d"})

    assert not result.ok
    assert "ключ шифрования connhub сменился" in result.message
    assert "начните подключение заново" in result.message
