"""The providers' memory: authorization codes, grants and their tokens, faults, counters, lifetimes.

One `threading.Lock` guards all of it. Every public method takes the lock once and does the whole
operation under it, so a code or a refresh token can never be spent twice by racing requests.
HTTP knows nothing in here: the handlers turn requests into these calls and results into answers.

A *grant* is one authorization of one account (one consent, one app installation or one minted
token). It owns the current refresh token and any number of access tokens: after a refresh the
older access tokens stay valid until their own expiry, as with real OAuth servers. `revoke` marks a
grant with a mode (`revoked`, or a provider-specific condition such as `uninstall` or `banned`);
every token of that grant then answers accordingly.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, replace

from connhub.sandbox.accounts import CLIENT_IDS, EVOTOR, PROVIDERS, VK, default_account
from connhub.sandbox.evotor_catalog import SandboxCatalog

# Fault and counter targets, by the part of the URL space they cover.
TARGETS = ("evotor-api", "evotor-oauth", "vk-api", "vk-id")
ALL_TARGETS = "all"

DEFAULT_CONFIG = {"vk_access_ttl": 3600, "evotor_access_ttl": 604799, "code_ttl": 600}

ACTIVE = "active"
REVOKED = "revoked"
# What POST /_sandbox/revoke may do to a grant of each provider; "revoke" marks it REVOKED.
REVOKE_MODES = {EVOTOR: ("revoke", "uninstall", "unpaid"), VK: ("revoke", "banned", "deleted")}

OAUTH = "oauth"
CLOUD = "cloud"  # an Evotor app-installation token: no refresh token, no expiry

# Evotor's rate-limit headers describe a per-user window; the sandbox reports it but never enforces
# it (a 429 comes only from a fault), so load tests and health checks stay deterministic.
EVOTOR_RATE_LIMIT = 100
EVOTOR_RATE_WINDOW = 60


class GrantRejected(Exception):
    """A code or refresh token cannot be redeemed; `error` is the OAuth error key to answer."""

    def __init__(self, description: str, error: str = "invalid_grant"):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Fault:
    """What to do to requests of one target instead of (or before) serving them normally."""

    latency_ms: int = 0
    status: int | None = None
    vk_error: int | None = None
    drop: bool = False
    count: int | None = None  # matching requests left before the fault clears itself; None: forever


@dataclass(eq=False)
class AuthCode:
    provider: str
    client_id: str
    redirect_uri: str
    account_id: str
    expires_at: float
    code_challenge: str | None = None  # VK ID only
    device_id: str | None = None  # VK ID only


@dataclass(eq=False)
class Grant:
    provider: str
    account_id: str
    kind: str
    client_id: str | None
    device_id: str | None = None
    status: str = ACTIVE
    refresh_token: str | None = None
    access_tokens: list[str] = field(default_factory=list)


@dataclass(eq=False)
class AccessToken:
    grant: Grant
    expires_at: float | None  # time.monotonic() deadline; None never expires


@dataclass(frozen=True)
class Issued:
    """Tokens just issued for a grant."""

    access_token: str
    refresh_token: str | None
    expires_in: int | None
    account_id: str
    device_id: str | None


@dataclass(frozen=True)
class TokenCheck:
    """What an access token is worth right now.

    verdict: "ok", "unknown", "expired", "revoked", or the grant's revoke mode ("uninstall",
    "unpaid", "banned", "deleted"). A revoke mark outranks expiry.
    """

    verdict: str
    account_id: str | None = None


def _new_token(provider: str) -> str:
    # Evotor tokens are UUIDs; VK ID tokens are long opaque strings.
    if provider == EVOTOR:
        return str(uuid.uuid4())
    return "vk2.a." + secrets.token_urlsafe(64)


class SandboxState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.evotor_catalog = SandboxCatalog()  # the Evotor catalog keeps its own lock
        self.reset()

    # ----- lifecycle, config, stats -----

    def reset(self) -> None:
        """Forget every code, grant, fault and counter; restore the default lifetimes."""
        self.evotor_catalog.reset()
        with self._lock:
            self._config = dict(DEFAULT_CONFIG)
            self._codes: dict[str, AuthCode] = {}
            self._grants: dict[str, list[Grant]] = {provider: [] for provider in PROVIDERS}
            self._access: dict[str, AccessToken] = {}
            self._refresh: dict[str, Grant] = {}
            self._cloud: dict[str, Grant] = {}  # account -> the grant the market page shows
            self._faults: dict[str, Fault] = {}
            self._requests = dict.fromkeys(TARGETS, 0)
            self._in_flight = dict.fromkeys(TARGETS, 0)
            self._in_flight_max = dict.fromkeys(TARGETS, 0)
            self._refreshes = dict.fromkeys(PROVIDERS, 0)
            self._rate_windows: dict[str, tuple[int, int]] = {}

    def config(self) -> dict[str, int]:
        with self._lock:
            return dict(self._config)

    def configure(self, **values: int) -> dict[str, int]:
        """Change lifetimes (seconds) for codes and tokens issued from now on."""
        unknown = set(values) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            self._config.update(values)
            return dict(self._config)

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "refreshes": dict(self._refreshes),
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

    def faults(self) -> dict[str, dict]:
        with self._lock:
            return {target: asdict(fault) for target, fault in self._faults.items()}

    # ----- authorization codes -----

    def new_code(self, provider: str, *, client_id: str, redirect_uri: str, account_id: str,
                 code_challenge: str | None = None, device_id: str | None = None) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = AuthCode(
                provider=provider,
                client_id=client_id,
                redirect_uri=redirect_uri,
                account_id=account_id,
                expires_at=time.monotonic() + self._config["code_ttl"],
                code_challenge=code_challenge,
                device_id=device_id,
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
            grant = self._new_grant(provider, stored.account_id, OAUTH, client_id, stored.device_id)
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
            if provider == VK and grant.device_id != device_id:
                raise GrantRejected("device_id does not match the refresh token")
            if grant.status == REVOKED:
                raise GrantRejected("refresh token has been revoked")
            if grant.status == "uninstall":
                raise GrantRejected("application is not installed")
            if grant.status in ("banned", "deleted"):
                raise GrantRejected("user was deleted or banned", error="access_denied")
            del self._refresh[refresh_token]
            return self._issue(grant)

    def check_access(self, provider: str, token: str) -> TokenCheck:
        with self._lock:
            entry = self._access.get(token)
            if entry is None or entry.grant.provider != provider:
                return TokenCheck("unknown")
            grant = entry.grant
            if grant.status != ACTIVE:
                return TokenCheck(grant.status, grant.account_id)
            if entry.expires_at is not None and time.monotonic() >= entry.expires_at:
                return TokenCheck("expired", grant.account_id)
            return TokenCheck("ok", grant.account_id)

    def mint(self, provider: str, count: int, account_id: str | None = None, kind: str = OAUTH) -> list[Issued]:
        """Issue `count` independent grants as if each had gone through consent (or installation)."""
        account_id = account_id or default_account(provider)
        device_ids = [secrets.token_urlsafe(32) if provider == VK else None for _ in range(count)]
        with self._lock:
            return [
                self._issue(self._new_grant(provider, account_id, kind, CLIENT_IDS[provider], device_id))
                for device_id in device_ids
            ]

    def cloud_token(self, account_id: str) -> str:
        """The account's current Evotor cloud token, issued on first use and stable until revoked."""
        with self._lock:
            grant = self._cloud.get(account_id)
            if grant is None or grant.status == REVOKED:
                grant = self._cloud[account_id] = self._new_grant(EVOTOR, account_id, CLOUD, CLIENT_IDS[EVOTOR])
                self._issue(grant)
            return grant.access_tokens[-1]

    def reissue_cloud_token(self, account_id: str) -> str:
        """Revoke the account's cloud token (if any) and issue a new one."""
        with self._lock:
            old = self._cloud.get(account_id)
            if old is not None:
                old.status = REVOKED
            grant = self._cloud[account_id] = self._new_grant(EVOTOR, account_id, CLOUD, CLIENT_IDS[EVOTOR])
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

    def evotor_rate(self, account_id: str) -> tuple[int, int]:
        """Count one API call against the account's window: (remaining, seconds until reset)."""
        now = int(time.time())
        window = now - now % EVOTOR_RATE_WINDOW
        with self._lock:
            start, used = self._rate_windows.get(account_id, (window, 0))
            used = used + 1 if start == window else 1
            self._rate_windows[account_id] = (window, used)
        return max(EVOTOR_RATE_LIMIT - used, 0), window + EVOTOR_RATE_WINDOW - now

    # ----- helpers; the caller holds the lock -----

    def _new_grant(self, provider: str, account_id: str, kind: str, client_id: str | None,
                   device_id: str | None = None) -> Grant:
        grant = Grant(provider=provider, account_id=account_id, kind=kind, client_id=client_id,
                      device_id=device_id)
        self._grants[provider].append(grant)
        return grant

    def _issue(self, grant: Grant) -> Issued:
        """A new access token for the grant and, unless it is a cloud grant, a new refresh token."""
        access = _new_token(grant.provider)
        if grant.kind == CLOUD:
            ttl = None
        else:
            ttl = self._config["evotor_access_ttl" if grant.provider == EVOTOR else "vk_access_ttl"]
            grant.refresh_token = _new_token(grant.provider)
            self._refresh[grant.refresh_token] = grant
        self._access[access] = AccessToken(grant, None if ttl is None else time.monotonic() + ttl)
        grant.access_tokens.append(access)
        return Issued(access, grant.refresh_token, ttl, grant.account_id, grant.device_id)

