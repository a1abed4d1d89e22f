"""Benchmark the sync's photo phase for memory: peak RSS of a real `python -m connhub.sync` run.

    python bench/photos.py [--images 50] [--image-bytes 4800000] [--database-url URL]

1. Starts the sandbox providers as their own process; mints a VK user token with the goods rights
   and an Evotor token (the images are listed and downloaded through the sandbox's Evotor).
2. Seeds one user in a fresh database: both connections, a catalog copy of N products, each given
   its own image in the sandbox's Evotor: a 300×300 PNG grown with zero bytes to `--image-bytes`
   (Evotor's own cap is 5 242 800 bytes), and a configuration switched on.
3. Runs `python -m connhub.sync --user …` as its own process and reports the process's peak
   resident memory (VmHWM) and how many products went up with a photo.

A run that holds every image until its end grows by each image's size (about 5 GB for 1 000
products at Evotor's cap); a streaming one stays near its baseline whatever the count.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import update  # noqa: E402

from bench.checker import start_sandbox, stop_sandbox  # noqa: E402
from bench.sync import GROUP, seed  # noqa: E402  (the same seeded user, store and community)
from connhub.crypto import Secret  # noqa: E402
from connhub.models import (  # noqa: E402
    Base,
    Connection,
)
from connhub.providers.evotor.sandbox import catalog_http as sandbox_catalog  # noqa: E402
from connhub.providers.vk.sandbox import GoodsControl  # noqa: E402
from connhub.runtime import Runtime, emulations, load_settings  # noqa: E402
from connhub.sandbox import SandboxControl, sandbox_env  # noqa: E402

# Runs the sync's CLI in this process and prints the peak RSS when it ends (VmHWM: after fork and
# exec, ru_maxrss would still count the parent's size).
RSS_WRAPPER = (
    "import re, runpy, sys\n"
    "sys.argv = ['connhub.sync', *sys.argv[1:]]\n"
    "code = 0\n"
    "try:\n"
    "    runpy.run_module('connhub.sync', run_name='__main__', alter_sys=True)\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "peak = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
    "print(f'peak_rss_kb={peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)
EMAIL = "bench@example.test"


def product_ids(count: int) -> list[str]:
    return [f"{n:08d}-0000-4000-8000-000000000000" for n in range(count)]  # as bench/sync.py seeds them


def run(images: int, image_bytes: int, database_url: str | None) -> dict[str, float | int | str]:
    sandbox, base_url = start_sandbox(0)
    workdir = Path(tempfile.mkdtemp(prefix="connhub-bench-photos-"))
    try:
        env = {"DATABASE_URL": database_url or f"sqlite:///{workdir}/bench.db",
               "CONNHUB_SECRET_KEY": Fernet.generate_key().decode(), "CONNHUB_DATA_DIR": str(workdir),
               "CATALOG_REFRESH_INTERVAL_SECONDS": str(7 * 24 * 3600), **sandbox_env(base_url, emulations())}
        rt = Runtime.from_settings(load_settings(_env_file=None, **env))
        Base.metadata.create_all(rt.engine)
        goods = GoodsControl(base_url)
        control = SandboxControl(base_url)
        user_id, _snapshot = seed(rt, goods.user_token(("groups", "market", "photos")), images)
        evotor_token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
        with rt.sessions() as session:
            session.execute(update(Connection).where(Connection.user_id == user_id, Connection.provider == "evotor")
                            .values(access_token_sealed=rt.cipher.seal(Secret(evotor_token))))
            session.commit()
        rt.close()
        sandbox_catalog.configure(control, images=[{"product_id": pid, "action": "set", "pad_to": image_bytes}
                                                   for pid in product_ids(images)])

        child_env = {key: value for key, value in os.environ.items()
                     if not key.startswith(("EVOTOR_", "VK_", "CONNHUB_", "DATABASE_"))}
        child_env.update(env)
        child_env["PYTHONPATH"] = str(ROOT)
        done = subprocess.run([sys.executable, "-c", RSS_WRAPPER, "--user", EMAIL], cwd=ROOT, env=child_env,
                              capture_output=True, text=True, timeout=1800, check=False)
        match = re.search(r"peak_rss_kb=(\d+)", done.stderr)
        items = goods.items(GROUP)
        summary = next((line for line in done.stdout.splitlines() if "итог:" in line), "")
        return {"exit": done.returncode, "peak_rss_mb": int(match.group(1)) / 1024 if match else float("nan"),
                "items": len(items), "with_photo": sum(1 for item in items if item["photos"]), "summary": summary,
                "log": done.stdout[-2000:] + done.stderr[-2000:]}
    finally:
        stop_sandbox(sandbox, workdir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--image-bytes", type=int, default=4_800_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    result = run(args.images, args.image_bytes, args.database_url)
    print(f"{args.images} images of {args.image_bytes} bytes: exit {result['exit']}, "
          f"peak RSS {result['peak_rss_mb']:.0f} MB, {result['items']} items, {result['with_photo']} with a photo")
    print(result["summary"])
    if result["exit"] != 0:
        print(result["log"], file=sys.stderr)
    return 0 if result["exit"] == 0 and result["with_photo"] == args.images else 1


if __name__ == "__main__":
    sys.exit(main())
