"""Evotor's rate limit, as documented (reference E5, `rest_overview.md` «Ограничение количества запросов»).

Evotor counts requests per user and, for store resources, per store; it publishes no numbers, only
the headers `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the
window starts again) and the answer `429 Rate Limit Exceeded`. `Pacer` spreads one account's calls
under them: when an answer says nothing is left (`Remaining: 0`) or is a 429, the next call waits
until the window resets (at most MAX_WAIT_SECONDS; 1 s when no reset is given), and a 429 is asked
again at most RETRIES times before it is reported. `waits` and `waited` count what that cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from connhub.providers import http

MAX_WAIT_SECONDS = 30.0
RETRIES = 3
DEFAULT_RESET_SECONDS = 1.0


class Pacer:
    def __init__(self, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sleep = sleep
        self._clock = clock
        self._not_before = 0.0
        self.waits = 0
        self.waited = 0.0

    def call(self, request: Callable[[], requests.Response]) -> requests.Response:
        """`request()` once the window allows, again after a 429 (at most RETRIES times); its last answer."""
        attempt = 0
        while True:
            self._wait()
            response = request()
            self._note(response)
            if response.status_code != 429 or attempt >= RETRIES:
                return response
            attempt += 1

    def _wait(self) -> None:
        delay = self._not_before - self._clock()
        if delay > 0:
            delay = min(delay, MAX_WAIT_SECONDS)
            self.waits += 1
            self.waited += delay
            self._sleep(delay)

    def _note(self, response: requests.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        if response.status_code != 429 and (remaining is None or remaining.strip() != "0"):
            return
        reset = http.retry_after_seconds(response, "X-RateLimit-Reset", "Retry-After")
        wait = min(reset if reset is not None else DEFAULT_RESET_SECONDS, MAX_WAIT_SECONDS)
        self._not_before = max(self._not_before, self._clock() + wait)
