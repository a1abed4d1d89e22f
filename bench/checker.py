"""Benchmark the checker: one full cycle over N connections against the sandbox with latency.

    python bench/checker.py [--connections 10000] [--latency-ms 50] [--sample 200]
                            [--concurrency 32] [--database-url URL]

1. Starts the sandbox providers as their own process and mints N grants, an equal share for
   every registered provider (an installation token where the provider has them, else an OAuth
   grant), through its control API.
2. Seeds N connections (N/P users for P providers, each with one connection per provider) into
   a fresh database, tokens sealed as the product seals them.
3. Injects the latency into every provider's API.
4. Baseline: `checker.py --once` with CHECKER_CONCURRENCY=1 over a sample of due connections.
5. Full cycle: `checker.py --once` with the default (or given) concurrency over all N.
Each run is a separate process, so its peak RSS is its own (os.wait4).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402

from connhub.crypto import Secret, TokenCipher  # noqa: E402
from connhub.db import make_engine  # noqa: E402
from connhub.models import Base, Connection, Status, User, utcnow  # noqa: E402
from connhub.sandbox import SandboxControl, sandbox_env  # noqa: E402
from connhub.sandbox.emulation import Emulation, registered  # noqa: E402
from connhub.sandbox.state import CLOUD, OAUTH  # noqa: E402

CYCLE_LINE = re.compile(r"cycle: checked=(\d+) written=(\d+).* in ([\d.]+)s")


def start_sandbox(port: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "connhub.sandbox", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()  # "connhub sandbox listening on http://HOST:PORT"
    match = re.search(r"(http://\S+)", line)
    if not match:
        process.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return process, match.group(1)


def api_target(emulation: Emulation) -> str:
    """The emulation's API target: the one that is not an OAuth server."""
    return next(target for _, target in emulation.targets if target not in emulation.oauth_targets)


def seed(database_url: str, key: str, control: SandboxControl, count: int) -> list[tuple[int, int]]:
    """Seed `count` connections, an equal share per provider; the (first, last) id of each share."""
    cipher = TokenCipher([key.encode()])
    emulations = registered()
    users = count // len(emulations)
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    later = utcnow() + timedelta(days=1)
    spans = []
    with engine.begin() as connection:
        connection.execute(insert(User), [{"subject": f"bench-{n}", "email": "", "name": ""} for n in range(users)])
        next_id = 1
        for position, emulation in enumerate(emulations):
            share = users if position < len(emulations) - 1 else count - users * (len(emulations) - 1)
            kind = CLOUD if CLOUD in emulation.kinds else OAUTH
            grants = control.mint_tokens(emulation.provider, count=share, kind=kind)["tokens"]
            rows = []
            for n, grant in enumerate(grants):
                extra = {name: value for name, value in grant.items() if name == "device_id"}
                refresh = grant.get("refresh_token")
                rows.append(dict(
                    user_id=n % users + 1, provider=emulation.provider,
                    auth_method="token" if kind == CLOUD else "oauth", account_id="", display_name="", profile={},
                    access_token_sealed=cipher.seal(Secret(grant["access_token"])),
                    refresh_token_sealed=cipher.seal(Secret(refresh)) if refresh else None,
                    token_expires_at=(utcnow() + timedelta(seconds=grant["expires_in"])
                                      if grant.get("expires_in") else None),
                    auth_params=extra, status=Status.ONLINE, next_check_at=later,
                ))
            connection.execute(insert(Connection), rows)
            spans.append((next_id, next_id + share - 1))
            next_id += share
    engine.dispose()
    return spans


def make_due(database_url: str, sample: int | None = None, spans: list[tuple[int, int]] | None = None) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        query = update(Connection).values(next_check_at=utcnow() - timedelta(seconds=1))
        if sample is not None and spans:  # sample every provider's share alike
            each = max(1, sample // len(spans))
            ids = [n for first, last in spans for n in range(first, min(last, first + each - 1) + 1)]
            query = query.where(Connection.id.in_(ids))
        connection.execute(query)
    engine.dispose()


def run_once(env: dict[str, str]) -> tuple[int, float, int]:
    """Run `checker.py --once`; return (checks, seconds, peak RSS in bytes)."""
    process = subprocess.Popen([sys.executable, "checker.py", "--once"], cwd=ROOT, env=env,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    log = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"checker failed:\n{log}")
    match = CYCLE_LINE.search(log)
    if not match:
        raise SystemExit(f"no cycle line in the checker's log:\n{log}")
    return int(match.group(1)), float(match.group(3)), usage.ru_maxrss * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sandbox-port", type=int, default=8099)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="connhub-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir}/bench.db"
    key = Fernet.generate_key().decode()
    sandbox, base = start_sandbox(args.sandbox_port)
    try:
        control = SandboxControl(base, timeout=120)
        # No refreshes: measure checks, not token endpoints.
        control.configure(**{emulation.access_ttl[0]: 24 * 3600 for emulation in registered()})
        started = time.perf_counter()
        spans = seed(database_url, key, control, args.connections)
        print(f"seeded {args.connections} connections in {time.perf_counter() - started:.1f}s ({database_url})")

        provider_env = sandbox_env(base)
        env = {k: v for k, v in os.environ.items() if k not in provider_env and not k.startswith("CHECKER_")}
        env.update(provider_env)
        env.update(DATABASE_URL=database_url, CONNHUB_SECRET_KEY=key, CONNHUB_DATA_DIR=str(workdir),
                   LOG_LEVEL="INFO", PYTHONPATH=str(ROOT))
        for emulation in registered():
            control.set_fault(api_target(emulation), latency_ms=args.latency_ms)

        make_due(database_url, args.sample, spans)
        base_checks, base_seconds, base_rss = run_once({**env, "CHECKER_CONCURRENCY": "1"})
        baseline = base_checks / base_seconds

        make_due(database_url)
        full_env = dict(env)
        if args.concurrency:
            full_env["CHECKER_CONCURRENCY"] = str(args.concurrency)
        checks, seconds, rss = run_once(full_env)
        rate = checks / seconds
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)

    print(f"latency injected: {args.latency_ms} ms per provider call; cpu cores: {os.cpu_count()}")
    print(f"baseline (one at a time): {base_checks} checks in {base_seconds:.2f}s = {baseline:.1f} checks/s, "
          f"peak RSS {base_rss / 2**20:.0f} MB")
    print(f"full cycle: {checks} checks in {seconds:.2f}s = {rate:.1f} checks/s, peak RSS {rss / 2**20:.0f} MB")
    print(f"speed-up: {rate / baseline:.1f}x (target >= 25x); peak RSS {rss / 2**20:.0f} MB (target < 150 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
