"""The providers' memory: authorization codes, grants and their tokens, faults, counters, lifetimes.

One `threading.Lock` guards all of it. Every public method takes the lock once and does the whole
operation under it, so a code or a refresh token can never be spent twice by racing requests.
HTTP knows nothing in here: the handlers turn requests into these calls and results into answers.

A *grant* is one authorization of one account (one consent, one app installation or one minted
token). It owns the current refresh token and any number of access tokens: after a refresh the
older access tokens stay valid until their own expiry, as with real OAuth servers. `revoke` marks a
grant with a mode (`revoked`, or a provider-specific condition such as `uninstall` or `banned`);
every token of that grant then answers accordingly.

One class behind one lock; its records (codes, grants, tokens, faults) are in `records.py`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from connhub.sandbox.emulation import Emulation
from connhub.sandbox.records import (
    ACTIVE,
    ALL_TARGETS,
    CLOUD,
    CODE_TTL,
    OAUTH,
    REVOKED,
    AccessToken,
    AuthCode,
    Fault,
    Grant,
    GrantRejected,
    Issued,
    TokenCheck,
)

__all__ = [
    "ACTIVE", "ALL_TARGETS", "CLOUD", "CODE_TTL", "OAUTH", "REVOKED", "AccessToken", "AuthCode", "Fault", "Grant",
    "GrantRejected", "Issued", "SandboxState", "TokenCheck",
]


class SandboxState:
    def __init__(self, emulations: Sequence[Emulation]) -> None:
        self._lock = threading.Lock()
        self.emulations = {emulation.provider: emulation for emulation in emulations}
        self.providers = tuple(self.emulations)
        self.targets = tuple(target for emulation in emulations for _, target in emulation.targets)
        self.default_config = {
            **{emulation.access_ttl[0]: emulation.access_ttl[1] for emulation in emulations}, CODE_TTL: 600,
        }
        self._extras: dict[str, Any] = {}
        self.reset()

    # ----- lifecycle, config, stats -----

    def reset(self) -> None:
        """Forget every code, grant, fault and counter; restore the default lifetimes."""
        with self._lock:
            self._extras = {provider: emulation.extra_state() for provider, emulation in self.emulations.items()
                            if emulation.extra_state is not None}
            self._config = dict(self.default_config)
            self._codes: dict[str, AuthCode] = {}
            self._grants: dict[str, list[Grant]] = {provider: [] for provider in self.providers}
            self._access: dict[str, AccessToken] = {}
            self._refresh: dict[str, Grant] = {}
            # (provider, account) -> the installation grant whose token the provider's pages show
            self._cloud: dict[tuple[str, str], Grant] = {}
            self._faults: dict[str, Fault] = {}
            self._requests = dict.fromkeys(self.targets, 0)
            self._in_flight = dict.fromkeys(self.targets, 0)
            self._in_flight_max = dict.fromkeys(self.targets, 0)
            self._refreshes = dict.fromkeys(self.providers, 0)
            self._rate_windows: dict[tuple[str, str], tuple[int, int]] = {}

    def config(self) -> dict[str, int]:
        with self._lock:
            return dict(self._config)

    def configure(self, **values: int) -> dict[str, int]:
        """Change lifetimes (seconds) for codes and tokens issued from now on."""
        unknown = set(values) - set(self.default_config)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            self._config.update(values)
            return dict(self._config)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "refreshes": dict(self._refreshes),
                "in_flight": dict(self._in_flight),  # requests being served now, per target
                "in_flight_max": dict(self._in_flight_max),
                "grants": {
                    provider: sum(1 for grant in grants if grant.status != REVOKED)
                    for provider, grants in self._grants.items()
                },
            }

    # ----- request accounting and faults -----

    def begin_request(self, target: str) -> Fault | None:
        """Count a request to `target` as started and claim the fault that applies to it, if any.

        A fault set for the target itself wins over one set for "all". Claiming a fault with a
        count uses one of its matches; the last one clears it.
        """
        with self._lock:
            self._requests[target] += 1
            in_flight = self._in_flight[target] = self._in_flight[target] + 1
            if in_flight > self._in_flight_max[target]:
                self._in_flight_max[target] = in_flight
            key = target if target in self._faults else ALL_TARGETS
            fault = self._faults.get(key)
            if fault is not None and fault.count is not None:
                if fault.count <= 1:
                    del self._faults[key]
                else:
                    self._faults[key] = replace(fault, count=fault.count - 1)
            return fault

    def end_request(self, target: str) -> None:
        with self._lock:
            self._in_flight[target] -= 1

    def set_fault(self, target: str, fault: Fault) -> None:
        with self._lock:
            self._faults[target] = fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {target: asdict(fault) for target, fault in self._faults.items()}

    # ----- authorization codes -----

    def new_code(self, provider: str, *, client_id: str, redirect_uri: str, account_id: str,
                 code_challenge: str | None = None, device_id: str | None = None,
                 scopes: Sequence[str] = ()) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = AuthCode(
                provider=provider,
                client_id=client_id,
                redirect_uri=redirect_uri,
                account_id=account_id,
                expires_at=time.monotonic() + self._config[CODE_TTL],
                code_challenge=code_challenge,
                device_id=device_id,
                scopes=tuple(scopes),
            )
        return code

    def redeem_code(self, provider: str, code: str, *, client_id: str, redirect_uri: str,
                    code_challenge: str | None = None, device_id: str | None = None) -> Issued:
        """Spend an authorization code on a new grant, if everything bound to it matches.

        A rejected attempt leaves the code unspent (a client may retry with the right verifier);
        only a successful exchange uses it up.
        """
        with self._lock:
            stored = self._codes.get(code)
            if stored is None or stored.provider != provider:
                raise GrantRejected("authorization code is unknown or already used")
            if time.monotonic() >= stored.expires_at:
                del self._codes[code]
                raise GrantRejected("authorization code has expired")
            if stored.client_id != client_id:
                raise GrantRejected("authorization code was issued to another client")
            if stored.redirect_uri != redirect_uri:
                raise GrantRejected("redirect_uri does not match the authorization request")
            if stored.device_id is not None and stored.device_id != device_id:
                raise GrantRejected("device_id does not match the authorization request")
            if stored.code_challenge is not None and stored.code_challenge != code_challenge:
                raise GrantRejected("code_verifier does not match code_challenge")
            del self._codes[code]
            grant = self._new_grant(provider, stored.account_id, OAUTH, client_id, stored.device_id,
                                    stored.scopes)
            return self._issue(grant)

    # ----- grants and tokens -----

    def refresh(self, provider: str, refresh_token: str, *, client_id: str,
                device_id: str | None = None) -> Issued:
        """Rotate a refresh token: the presented one is spent, a new one and an access token issued.

        Every attempt counts in stats()["refreshes"], rejected ones too, so a test can see how
        often a client tried.
        """
        with self._lock:
            self._refreshes[provider] += 1
            grant = self._refresh.get(refresh_token)
            if grant is None or grant.provider != provider:
                raise GrantRejected("refresh token is unknown or already used")
            if grant.client_id != client_id:
                raise GrantRejected("refresh token was issued to another client")
            emulation = self.emulations[provider]
            if emulation.binds_device and grant.device_id != device_id:
                raise GrantRejected("device_id does not match the refresh token")
            if grant.status == REVOKED:
                raise GrantRejected("refresh token has been revoked")
            refusal = emulation.refresh_refusals.get(grant.status)
            if refusal is not None:
                raise GrantRejected(refusal[0], error=refusal[1])
            del self._refresh[refresh_token]
            return self._issue(grant)

    def check_access(self, provider: str, token: str) -> TokenCheck:
        with self._lock:
            entry = self._access.get(token)
            if entry is None or entry.grant.provider != provider:
                return TokenCheck("unknown")
            grant = entry.grant
            if grant.status != ACTIVE:
                return TokenCheck(grant.status, grant.account_id, grant.scopes)
            if entry.expires_at is not None and time.monotonic() >= entry.expires_at:
                return TokenCheck("expired", grant.account_id, grant.scopes)
            return TokenCheck("ok", grant.account_id, grant.scopes)

    def mint(self, provider: str, count: int, account_id: str | None = None, kind: str = OAUTH,
             scopes: Sequence[str] = ()) -> list[Issued]:
        """Issue `count` independent grants as if each had gone through consent (or installation)."""
        emulation = self.emulations[provider]
        account_id = account_id or emulation.default_account()
        device_ids = [secrets.token_urlsafe(32) if emulation.binds_device else None for _ in range(count)]
        with self._lock:
            return [
                self._issue(self._new_grant(provider, account_id, kind, emulation.client_id, device_id,
                                            tuple(scopes)))
                for device_id in device_ids
            ]

    def cloud_token(self, provider: str, account_id: str) -> str:
        """The account's current installation (cloud) token, issued on first use and stable until revoked."""
        with self._lock:
            grant = self._cloud.get((provider, account_id))
            if grant is None or grant.status == REVOKED:
                grant = self._cloud[(provider, account_id)] = self._new_grant(
                    provider, account_id, CLOUD, self.emulations[provider].client_id)
                self._issue(grant)
            return grant.access_tokens[-1]

    def reissue_cloud_token(self, provider: str, account_id: str) -> str:
        """Revoke the account's installation token (if any) and issue a new one."""
        with self._lock:
            old = self._cloud.get((provider, account_id))
            if old is not None:
                old.status = REVOKED
            grant = self._cloud[(provider, account_id)] = self._new_grant(
                provider, account_id, CLOUD, self.emulations[provider].client_id)
            return self._issue(grant).access_token

    def revoke(self, provider: str, mode: str = "revoke", *, account_id: str | None = None,
               token: str | None = None) -> int:
        """Mark the provider's grants (optionally only one account's, or only the one owning `token`).

        Returns how many grants changed. A revoked grant stays revoked whatever comes later.
        """
        status = REVOKED if mode == "revoke" else mode
        with self._lock:
            if token is not None:
                owner = self._access.get(token)
                grant = owner.grant if owner is not None else self._refresh.get(token)
                grants = [grant] if grant is not None and grant.provider == provider else []
            else:
                grants = self._grants[provider]
            changed = 0
            for grant in grants:
                if account_id is not None and grant.account_id != account_id:
                    continue
                if grant.status not in (REVOKED, status):
                    grant.status = status
                    changed += 1
            return changed

    def expire(self, provider: str) -> int:
        """Expire every unexpired access token of the provider now; refresh tokens stay valid.

        Cloud tokens never expire, so they are left alone. Returns how many tokens expired.
        """
        now = time.monotonic()
        changed = 0
        with self._lock:
            for grant in self._grants[provider]:
                for token in grant.access_tokens:
                    entry = self._access[token]
                    if entry.expires_at is not None and entry.expires_at > now:
                        entry.expires_at = now
                        changed += 1
        return changed

    def rate(self, provider: str, account_id: str, *, limit: int, window_seconds: int) -> tuple[int, int]:
        """Count one API call against the account's fixed window: (remaining, seconds until reset).

        Reported, never enforced (a 429 comes only from a fault), so load tests stay deterministic."""
        now = int(time.time())
        window = now - now % window_seconds
        with self._lock:
            start, used = self._rate_windows.get((provider, account_id), (window, 0))
            used = used + 1 if start == window else 1
            self._rate_windows[(provider, account_id)] = (window, used)
        return max(limit - used, 0), window + window_seconds - now

    # ----- helpers; the caller holds the lock -----

    def _new_grant(self, provider: str, account_id: str, kind: str, client_id: str | None,
                   device_id: str | None = None, scopes: tuple[str, ...] = ()) -> Grant:
        grant = Grant(provider=provider, account_id=account_id, kind=kind, client_id=client_id,
                      device_id=device_id, scopes=scopes)
        self._grants[provider].append(grant)
        return grant

    def _issue(self, grant: Grant) -> Issued:
        """A new access token for the grant and, unless it is a cloud grant, a new refresh token."""
        emulation = self.emulations[grant.provider]
        access = emulation.new_token()
        ttl: int | None
        if grant.kind == CLOUD:
            ttl = None
        else:
            ttl = self._config[emulation.access_ttl[0]]
            grant.refresh_token = emulation.new_token()
            self._refresh[grant.refresh_token] = grant
        self._access[access] = AccessToken(grant, None if ttl is None else time.monotonic() + ttl)
        grant.access_tokens.append(access)
        return Issued(access, grant.refresh_token, ttl, grant.account_id, grant.device_id, grant.scopes)

    def extra(self, provider: str) -> Any:
        """The provider's own state object (Emulation.extra_state); it guards itself."""
        with self._lock:
            return self._extras[provider]
