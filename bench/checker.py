"""Benchmark the checker: one full cycle over N connections against the sandbox with latency.

    python bench/checker.py [--connections 10000 40000 100000] [--latency-ms 50] [--sample 200]
                            [--concurrency 32] [--database-url URL]

For each N (a fresh database each time):

1. Starts the sandbox providers as their own process (once) and mints N grants, an equal share for
   every registered provider (an installation token where the provider has them, else an OAuth
   grant), through its control API, in chunks of at most the sandbox's 20,000 a call.
2. Seeds N connections (N/P users for P providers, each with one connection per provider) into
   a fresh database, tokens sealed as the product seals them.
3. Injects the latency into every provider's API.
4. Baseline: `checker.py --once` with CHECKER_CONCURRENCY=1 over a sample of due connections.
5. Full cycles: `checker.py --once` with the default (or given) concurrency over all N, twice: the
   first finds every account for the first time and writes it, the second finds them as stored
   (what every later cycle of a running checker finds).

CPU is the checker's own over the cycle (every thread's, as the cycle's log line reports it) and the
sandbox's over the same time. Memory is the checker's own: its peak resident set (`VmHWM` in
/proc/<pid>/status), sampled while it runs. (The `ru_maxrss` that wait4 reports would carry this
script's own high-water mark across fork and exec.) The sandbox, the checker and this script share
the machine: the figures say how many cores it has and its load average when each run started.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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
from connhub.models import Base, CatalogRefreshJob, Connection, Status, User, utcnow  # noqa: E402
from connhub.runtime import emulations as registered  # noqa: E402
from connhub.sandbox import SandboxControl, sandbox_env  # noqa: E402
from connhub.sandbox.admin import MAX_MINT  # noqa: E402
from connhub.sandbox.emulation import Emulation  # noqa: E402
from connhub.sandbox.state import CLOUD, OAUTH  # noqa: E402

CYCLE_LINE = re.compile(r"cycle: checked=(\d+) written=(\d+).* in ([\d.]+)s \(cpu ([\d.]+)s\)")


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


def stop_sandbox(process: subprocess.Popen[str], workdir: Path | None = None) -> None:
    """Stop a sandbox `start_sandbox` started and remove the bench's working directory (kept when
    KEEP_BENCH_DB is set, to look at the database afterwards)."""
    process.terminate()
    process.wait(timeout=10)
    if workdir is not None and not os.environ.get("KEEP_BENCH_DB"):
        shutil.rmtree(workdir, ignore_errors=True)


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
            grants = []
            for start in range(0, share, MAX_MINT):  # the sandbox mints at most MAX_MINT a call
                count_now = min(MAX_MINT, share - start)
                grants += control.mint_tokens(emulation.provider, count=count_now, kind=kind)["tokens"]
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
            if emulation.provider == "vk":  # the steady state: rights probed within RIGHTS_MAX_AGE
                rights = {"groups": True, "market": True, "photos": True, "checked_at": utcnow().isoformat(),
                          "note": ""}
                for row in rows:
                    row["profile"] = {"rights": rights}
            connection.execute(insert(Connection), rows)
            # A finished catalog refresh per connection: `--once` runs the catalog worker too, and the
            # bench measures health checks, not refreshes.
            connection.execute(insert(CatalogRefreshJob), [
                {"connection_id": n, "store_id": None, "source": "schedule", "requested_at": utcnow(),
                 "state": "succeeded", "started_at": utcnow(), "finished_at": utcnow(), "duration_ms": 0}
                for n in range(next_id, next_id + share)])
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


def peak_memory(pid: int) -> int | None:
    """The process's own peak resident set so far (VmHWM), in bytes; None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User and system CPU a live process has used so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(env: dict[str, str], workdir: Path) -> tuple[int, float, int, float, float]:
    """Run `checker.py --once`; return (checks, seconds, the checker's own peak memory in bytes, its CPU
    seconds over the cycle, its CPU seconds from start to exit)."""
    log_path = workdir / "checker.log"
    with open(log_path, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen([sys.executable, "checker.py", "--once"], cwd=ROOT, env=env, stderr=log_file)
        peak = 0
        while True:  # VmHWM only grows; the last reading before exit is the peak
            peak = max(peak, peak_memory(process.pid) or 0)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.02)
    log = log_path.read_text(encoding="utf-8")
    if process.returncode != 0:
        raise SystemExit(f"checker failed:\n{log}")
    match = CYCLE_LINE.search(log)
    if not match:
        raise SystemExit(f"no cycle line in the checker's log:\n{log}")
    print(f"  checker, start to exit: user {usage.ru_utime:.1f}s, system {usage.ru_stime:.1f}s, "
          f"context switches {usage.ru_nvcsw:,} voluntary, {usage.ru_nivcsw:,} involuntary", flush=True)
    return (int(match.group(1)), float(match.group(3)), peak, float(match.group(4)),
            usage.ru_utime + usage.ru_stime)


def bench(control: SandboxControl, base: str, sandbox_pid: int, connections: int,
          args: argparse.Namespace) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="connhub-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir}/bench.db"
    if args.database_url:  # a given database is emptied first
        engine = make_engine(database_url)
        Base.metadata.drop_all(engine)
        engine.dispose()
    key = Fernet.generate_key().decode()
    control.reset()
    # No refreshes: measure checks, not token endpoints.
    control.configure(**{emulation.access_ttl[0]: 24 * 3600 for emulation in registered()})
    started = time.perf_counter()
    spans = seed(database_url, key, control, connections)
    print(f"seeded {connections} connections in {time.perf_counter() - started:.1f}s", flush=True)

    provider_env = sandbox_env(base, registered())
    env = {k: v for k, v in os.environ.items() if k not in provider_env and not k.startswith("CHECKER_")}
    env.update(provider_env)
    env.update(DATABASE_URL=database_url, CONNHUB_SECRET_KEY=key, CONNHUB_DATA_DIR=str(workdir),
               LOG_LEVEL="INFO", PYTHONPATH=str(ROOT))
    for emulation in registered():
        control.set_fault(api_target(emulation), latency_ms=args.latency_ms)

    load = os.getloadavg()[0]
    make_due(database_url, args.sample, spans)
    base_checks, base_seconds, base_peak, _, _ = run_once({**env, "CHECKER_CONCURRENCY": "1"}, workdir)
    full_env = dict(env)
    if args.concurrency:
        full_env["CHECKER_CONCURRENCY"] = str(args.concurrency)
    result: dict[str, float] = {"connections": connections, "load": load, "baseline": base_checks / base_seconds,
                                "baseline_peak_mb": base_peak / 2**20}
    print(f"  baseline (one at a time): {base_checks} checks in {base_seconds:.2f}s = {result['baseline']:.1f} "
          f"checks/s, checker peak {result['baseline_peak_mb']:.0f} MB", flush=True)
    # The first cycle finds every account as the provider reports it for the first time (the seeded rows
    # hold none) and writes them all; each cycle after it finds them as stored: the checker's steady state.
    for cycle in ("first", "steady"):
        make_due(database_url)
        cycle_load = os.getloadavg()[0]
        sandbox_cpu = cpu_seconds(sandbox_pid)
        checks, seconds, peak, cycle_cpu, checker_cpu = run_once(full_env, workdir)
        sandbox_cpu = cpu_seconds(sandbox_pid) - sandbox_cpu
        result.update({f"{cycle}_rate": checks / seconds, f"{cycle}_peak_mb": peak / 2**20,
                       f"{cycle}_cpu_ms": cycle_cpu / checks * 1000})
        print(f"  {cycle} full cycle: {checks} checks in {seconds:.1f}s = {checks / seconds:.0f} checks/s, "
              f"checker peak {peak / 2**20:.0f} MB (load average {cycle_load:.1f} before the cycle)",
              flush=True)
        print(f"    CPU: checker {cycle_cpu:.1f}s over the cycle ({cycle_cpu / checks * 1000:.2f} ms a check), "
              f"{checker_cpu:.1f}s from start to exit; sandbox {sandbox_cpu:.1f}s", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[10_000])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--sandbox-port", type=int, default=8099)
    args = parser.parse_args()

    print(f"latency injected: {args.latency_ms} ms per provider call; cpu cores: {os.cpu_count()}", flush=True)
    sandbox, base = start_sandbox(args.sandbox_port)
    try:
        control = SandboxControl(base, timeout=300)
        results = [bench(control, base, sandbox.pid, connections, args) for connections in args.connections]
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)

    print("\n| connections | checks/s, first cycle | checks/s, steady cycle | checker peak memory "
          "| speed-up over one at a time (steady) | checker CPU a check (steady) | load at start |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['connections']:,} | {r['first_rate']:.0f} | {r['steady_rate']:.0f} "
              f"| {max(r['first_peak_mb'], r['steady_peak_mb']):.0f} MB | {r['steady_rate'] / r['baseline']:.1f}x "
              f"| {r['steady_cpu_ms']:.2f} ms | {r['load']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
