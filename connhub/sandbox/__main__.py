"""`python -m connhub.sandbox [--host 127.0.0.1] [--port 8090] [--verbose]`: serve until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from connhub.sandbox.server import SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connhub.sandbox",
                                     description="Local emulation of the Evotor and VK providers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    try:
        server = SandboxServer(args.host, args.port, verbose=args.verbose)
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
