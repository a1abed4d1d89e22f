"""A process that calls VK `groups.get` N times on one token (tests/work/test_ratelimit.py), with no
retries, and prints how many calls VK refused for its rate: `done <ok> <error6>`.

    python -m tests.work.vk_caller TOKEN N     (the environment names the database and the sandbox)
"""

from __future__ import annotations

import sys

from connhub.crypto import Secret
from connhub.providers.vk.api import RetryPolicy, VkApi, VkApiError
from connhub.providers.vk.settings import VkSettings
from connhub.runtime import Runtime


def main(token: str, count: int) -> None:
    rt = Runtime.from_settings()  # installs the shared limiter on the test's database
    api = VkApi(Secret(token), api_url=rt.settings.of(VkSettings).VK_API_URL, timeout=10,
                retry=RetryPolicy(attempts=1))
    print("ready", flush=True)
    sys.stdin.readline()  # both processes start calling together
    ok = refused = 0
    for _ in range(count):
        try:
            api.call("groups.get", {"extended": 1, "filter": "admin"})
            ok += 1
        except VkApiError as error:
            if error.error_code != 6:
                raise
            refused += 1
    print(f"done {ok} {refused}", flush=True)
    rt.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
