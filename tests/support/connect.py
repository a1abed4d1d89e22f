"""Users and connections for tests: connected through the real OAuth flow against the sandbox, or
seeded in a given state."""

from __future__ import annotations

from datetime import datetime

from connhub import oauth
from connhub.crypto import Secret
from connhub.models import AuthMethod, Connection, Status
from connhub.runtime import Runtime
from connhub.sandbox import SandboxControl
from connhub.users import UserView, ensure_user, oidc_subject
from tests.support.consent import consent
from tests.support.sandbox import sandbox_account


def make_user(rt: Runtime, subject: str) -> UserView:
    with rt.sessions() as session:
        return ensure_user(session, subject=oidc_subject(subject), email=f"{subject}@example.test",
                           name=subject.title())


def connect(rt: Runtime, user: UserView, provider: str, *, account: str | None = None) -> int:
    """Connect through the real flow against the sandbox (no page involved); the connection id."""
    params = consent(oauth.begin_authorization(rt, user_id=user.id, provider=provider), account=account)
    result = oauth.complete_authorization(rt, user_id=user.id, params=params)
    assert result.ok, result.message
    assert result.connection_id is not None
    return result.connection_id


def add_connection(rt: Runtime, control: SandboxControl, user: UserView, provider: str, *,
                   status: Status = Status.ONLINE, reason: str = "", last_checked_at: datetime | None = None,
                   auth_method: str = AuthMethod.OAUTH) -> int:
    """A connection row in a given state, for the provider's first demo account as the sandbox reports
    it (the tokens are placeholders nobody calls with)."""
    account = sandbox_account(rt, control, provider)
    with rt.sessions() as session:
        row = Connection(
            user_id=user.id, provider=provider, auth_method=auth_method, account_id=account.account_id,
            display_name=account.display_name, profile=account.profile,
            access_token_sealed=rt.cipher.seal(Secret(f"placeholder-{provider}-token")),
            refresh_token_sealed=None, token_version=1,
            status=status, status_reason=reason, is_online=status is Status.ONLINE,
            last_checked_at=last_checked_at,
            last_success_at=last_checked_at if status is Status.ONLINE else None,
        )
        session.add(row)
        session.commit()
        return row.id
