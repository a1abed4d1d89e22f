"""A small client for the sandbox's control API (/_sandbox/...), for tests and the benchmark.

Every method returns the endpoint's JSON answer as it is and raises `SandboxControlError` on a
non-2xx answer. One instance keeps one keep-alive session; share it between threads only for
occasional calls.
"""

from __future__ import annotations

from typing import Any

import requests


class SandboxControlError(RuntimeError):
    """The control API refused a request; `status` and `body` are its answer."""

    def __init__(self, method: str, path: str, status: int, body: str):
        super().__init__(f"sandbox control {method} {path} answered {status}: {body[:500]}")
        self.status = status
        self.body = body


class SandboxControl:
    def __init__(self, base_url: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}/_sandbox/{path}"
        response = self._session.request(method, url, json=payload, timeout=self.timeout)
        if not 200 <= response.status_code < 300:
            raise SandboxControlError(method, f"/_sandbox/{path}", response.status_code, response.text)
        answer: dict[str, Any] = response.json()
        return answer

    def reset(self) -> dict[str, Any]:
        """Forget all grants, codes, faults and counters; restore default lifetimes."""
        return self._call("POST", "reset")

    def revoke(self, provider: str, account_id: str | int | None = None, token: str | None = None,
               mode: str = "revoke") -> dict[str, Any]:
        """Mark grants: `revoke` (every provider) or a provider's own mode (Emulation.revoke_modes).

        Returns {"affected": n}.
        """
        payload: dict[str, Any] = {"provider": provider, "mode": mode}
        if account_id is not None:
            payload["account_id"] = str(account_id)
        if token is not None:
            payload["token"] = token
        return self._call("POST", "revoke", payload)

    def expire(self, provider: str) -> dict[str, Any]:
        """Expire every access token of the provider now. Returns {"affected": n}."""
        return self._call("POST", "expire", {"provider": provider})

    def set_fault(self, target: str, latency_ms: int = 0, status: int | None = None, drop: bool = False,
                  count: int | None = None, **api_error: int) -> dict[str, Any]:
        """Set (replace) the fault of a target (an emulation's, such as vk-api, or all).

        `api_error` is a provider's own error fault by its parameter name (Emulation.api_error_fault),
        e.g. `vk_error=6`."""
        payload: dict[str, Any] = {"target": target, "latency_ms": latency_ms, "status": status, "drop": drop,
                                   "count": count, **api_error}
        return self._call("POST", "faults", payload)

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "faults")

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "faults")

    def mint_tokens(self, provider: str, count: int = 1, account_id: str | int | None = None,
                    kind: str = "oauth") -> dict[str, Any]:
        """Issue grants without a browser. Returns {"tokens": [...]}."""
        payload: dict[str, Any] = {"provider": provider, "count": count, "kind": kind}
        if account_id is not None:
            payload["account_id"] = str(account_id)
        return self._call("POST", "tokens", payload)

    def cloud_token(self, account_id: str | None = None, provider: str | None = None) -> dict[str, Any]:
        """An account's current installation (cloud) token, the one the provider's page shows: {"token": ...}.

        The provider defaults to the first one that has installation tokens."""
        payload = {name: value for name, value in (("account_id", account_id), ("provider", provider)) if value}
        return self._call("POST", "cloud-token", payload)

    def configure(self, **settings: int) -> dict[str, Any]:
        """Change code_ttl and/or a provider's access-token lifetime (e.g. vk_access_ttl) from now on."""
        return self._call("POST", "config", settings)

    def config(self) -> dict[str, Any]:
        return self._call("GET", "config")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        """POST /_sandbox/<path>: a control endpoint a provider's emulation adds of its own."""
        return self._call("POST", path, payload)
