"""`python -m connhub.sandbox [--host 127.0.0.1] [--port 8090] [--verbose]`: serve until SIGTERM or Ctrl-C.

`--print-env` prints, as shell `export` lines, the variables that point connhub at a sandbox on
that host and port, and exits (`make run` uses it).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading

from connhub.runtime import emulations
from connhub.sandbox.server import SandboxServer, sandbox_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connhub.sandbox",
                                     description="Local emulation of connhub's providers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--print-env", action="store_true",
                        help="print the variables that point connhub at this sandbox, then exit")
    args = parser.parse_args(argv)
    if args.print_env:
        for name, value in sandbox_env(f"http://{args.host}:{args.port}", emulations()).items():
            print(f"export {name}={shlex.quote(value)}")
        return 0

    try:
        server = SandboxServer(emulations(), args.host, args.port, verbose=args.verbose)
    except OSError as exc:
        print(f"connhub sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    print(f"connhub sandbox listening on {server.base_url}", flush=True)
    stopping.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
