"""The sandbox state's records: authorization codes, grants, access tokens, faults, what an issue or
a token check answers, and the names they use (token kinds, grant statuses)."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_TARGETS = "all"
CODE_TTL = "code_ttl"

ACTIVE = "active"
REVOKED = "revoked"

OAUTH = "oauth"
CLOUD = "cloud"  # an app-installation token (Evotor's cloud token): no refresh token, no expiry


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
    api_error: int | None = None  # a provider-specific error code (Emulation.api_error_fault)
    drop: bool = False
    count: int | None = None  # matching requests left before the fault clears itself; None: forever


@dataclass(eq=False)
class AuthCode:
    provider: str
    client_id: str
    redirect_uri: str
    account_id: str
    expires_at: float
    code_challenge: str | None = None  # PKCE providers only
    device_id: str | None = None  # device-bound providers only
    scopes: tuple[str, ...] = ()  # what the consent granted


@dataclass(eq=False)
class Grant:
    provider: str
    account_id: str
    kind: str
    client_id: str | None
    device_id: str | None = None
    status: str = ACTIVE
    scopes: tuple[str, ...] = ()  # the rights its tokens carry (an emulation decides what they allow)
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
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TokenCheck:
    """What an access token is worth right now.

    verdict: "ok", "unknown", "expired", "revoked", or the grant's provider-specific revoke mode
    (Emulation.revoke_modes). A revoke mark outranks expiry.
    """

    verdict: str
    account_id: str | None = None
    scopes: tuple[str, ...] = ()

