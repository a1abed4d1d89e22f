"""Connecting an account: OAuth flows kept in the database, and pasted tokens.

The provider's callback lands in a new Streamlit session, so nothing lives in the browser
session: a flow row carries a random `state` bound to the user and the provider, the sealed
PKCE verifier and a 10-minute expiry, and it is consumed exactly once by a conditional UPDATE.
Completing a flow for a provider the user already has replaces the tokens in place: the
connection keeps its id and its history.

Every outcome, good or bad, is a `ConnectResult` with a Russian message for the page; a failed
callback stores nothing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from connhub.crypto import Secret, UnreadableToken
from connhub.db import affected, write_locked
from connhub.health.policy import initial_health, regular_check_at
from connhub.health.results import record_check
from connhub.journal import hooks as journal_hooks
from connhub.models import AuthMethod, CheckSource, Connection, OAuthFlow, Outcome, utcnow
from connhub.providers import Account, ProviderError, TokenSet, UnknownProvider, text
from connhub.runtime import Runtime

log = logging.getLogger(__name__)

FLOW_LIFETIME = timedelta(minutes=10)
UNREADABLE_FLOW_MESSAGE = (
    "Подключение не завершено: ключ шифрования connhub сменился, пока вы подтверждали доступ, и данные "
    "этого подключения больше не читаются. Ничего не сохранено — начните подключение заново. "
    "Если это повторяется, сообщите администратору connhub."
)
# The query parameters a provider may send back; anything else in the URL is ignored.
CALLBACK_PARAMS = ("code", "state", "device_id", "type", "expires_in", "error", "error_description", "error_reason")


@dataclass(frozen=True)
class ConnectResult:
    ok: bool
    message: str
    provider: str | None = None
    connection_id: int | None = None
    reconnected: bool = False


@dataclass(frozen=True)
class Flow:
    """A flow just begun: where to send the browser, and until when the flow can complete."""

    url: str
    state: str
    begun_at: datetime
    expires_at: datetime


def begin_authorization(rt: Runtime, *, user_id: int, provider: str) -> str:
    """Create a flow for this user and provider; return the URL to send the browser to."""
    return begin_flow(rt, user_id=user_id, provider=provider).url


def begin_flow(rt: Runtime, *, user_id: int, provider: str) -> Flow:
    """Create a flow for this user and provider (the consent URL, its state and expiry)."""
    client = rt.providers.get(provider)
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, inside RFC 7636's 43-128
    redirect_uri = rt.settings.oauth_redirect_uri
    now = utcnow()
    with rt.sessions() as session:
        session.add(OAuthFlow(
            state=state,
            user_id=user_id,
            provider=provider,
            code_verifier_sealed=rt.cipher.seal(Secret(verifier)),
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=now + FLOW_LIFETIME,
        ))
        session.commit()
    url = client.authorization_url(state=state, code_verifier=verifier, redirect_uri=redirect_uri)
    return Flow(url=url, state=state, begun_at=now, expires_at=now + FLOW_LIFETIME)


def flow_open(rt: Runtime, *, user_id: int, state: str) -> bool:
    """Whether the user's flow can still complete: it exists, is unused and has not expired."""
    with rt.sessions() as session:
        found = session.scalar(select(OAuthFlow.state).where(
            OAuthFlow.state == state, OAuthFlow.user_id == user_id, OAuthFlow.consumed_at.is_(None),
            OAuthFlow.expires_at > utcnow(),
        ))
    return found is not None


def complete_authorization(rt: Runtime, *, user_id: int, params: Mapping[str, str]) -> ConnectResult:
    """Finish a flow from the callback's query parameters."""
    state = params.get("state", "")
    error = params.get("error", "")
    if error:
        # The user said no (or the provider refused): burn the flow so the link is dead, store nothing.
        flow = _consume_flow(rt, state, user_id) if state else None
        provider = flow.provider if isinstance(flow, OAuthFlow) else None
        if error == "access_denied":
            return ConnectResult(False, "Вы отказались от подключения — ничего не сохранено.", provider)
        message = f"Провайдер отказал в доступе (ошибка «{_short(error)}») — ничего не сохранено."
        return ConnectResult(False, message, provider)

    code = params.get("code", "")
    if not state or not code:
        return ConnectResult(False, "В ответе провайдера нет кода подтверждения. Начните подключение заново.")

    flow = _consume_flow(rt, state, user_id)
    if isinstance(flow, str):
        return ConnectResult(False, flow)
    try:
        client = rt.providers.get(flow.provider)
    except UnknownProvider:
        return ConnectResult(False, "Неизвестный сервис в ссылке подключения.")
    try:
        verifier = rt.cipher.open(flow.code_verifier_sealed).reveal()
    except UnreadableToken:
        log.error("oauth flow unreadable: provider=%s user=%s: the encryption key changed during the flow",
                  flow.provider, user_id)
        return ConnectResult(False, UNREADABLE_FLOW_MESSAGE, flow.provider)
    try:
        tokens = client.exchange_code(code=code, code_verifier=verifier, redirect_uri=flow.redirect_uri,
                                      callback=params)
        account = client.fetch_account(tokens.access_token)
    except ProviderError as exc:
        log.warning("oauth exchange failed: provider=%s user=%s code=%s", flow.provider, user_id, exc.code)
        return ConnectResult(False, f"Не удалось подключить {client.info.title}: {exc.reason}", flow.provider)
    return _save_connection(rt, user_id=user_id, provider=flow.provider, method=AuthMethod.OAUTH,
                            tokens=tokens, account=account)


def connect_with_token(rt: Runtime, *, user_id: int, provider: str, raw_token: str) -> ConnectResult:
    """Connect with a token the user pasted; it is checked live and stored only if it works."""
    client = rt.providers.get(provider)
    title = client.info.title
    try:
        token = client.parse_pasted_token(raw_token)
    except ValueError as exc:
        return ConnectResult(False, str(exc), provider)
    try:
        account = client.fetch_account(token)
    except ProviderError as exc:
        if exc.permanent:
            return ConnectResult(False, f"{title} не принял этот токен: {exc.reason}", provider)
        return ConnectResult(False, f"Не удалось проверить токен: {exc.reason}. Попробуйте позже.", provider)
    return _save_connection(rt, user_id=user_id, provider=provider, method=AuthMethod.TOKEN,
                            tokens=TokenSet(access_token=token), account=account)


def prune_flows(rt: Runtime, *, now: datetime | None = None) -> int:
    """Delete flows that expired or were used more than a day ago."""
    now = now or utcnow()
    with rt.sessions() as session:
        result = session.execute(delete(OAuthFlow).where(or_(
            OAuthFlow.expires_at < now - timedelta(days=1),
            OAuthFlow.consumed_at < now - timedelta(days=1),
        )))
        session.commit()
        return affected(result)


def _consume_flow(rt: Runtime, state: str, user_id: int) -> OAuthFlow | str:
    """Take the flow exactly once; a string says why it cannot be taken."""
    now = utcnow()
    with rt.sessions() as session:
        taken = affected(session.execute(
            update(OAuthFlow)
            .where(OAuthFlow.state == state, OAuthFlow.user_id == user_id,
                   OAuthFlow.consumed_at.is_(None), OAuthFlow.expires_at > now)
            .values(consumed_at=now)
        ))
        flow = session.get(OAuthFlow, state)
        session.commit()
    if taken == 1 and flow is not None:
        return flow
    if flow is None:
        return "Ссылка подключения не найдена. Начните подключение заново."
    if flow.user_id != user_id:
        return "Эта ссылка подключения выдана другому пользователю. Начните подключение заново."
    if flow.consumed_at is not None:
        return "Эта ссылка подключения уже использована. Если сервис не подключился, начните заново."
    return "Ссылка подключения устарела (действует 10 минут). Начните подключение заново."


def _save_connection(rt: Runtime, *, user_id: int, provider: str, method: AuthMethod, tokens: TokenSet,
                     account: Account) -> ConnectResult:
    """Insert the connection, or replace the tokens of the existing one in place."""
    title = rt.providers.get(provider).info.title
    account = text.clean_account(account)  # what the provider said, cut to what the columns hold
    now = utcnow()
    sealed_refresh = rt.cipher.seal(tokens.refresh_token) if tokens.refresh_token else None
    fields = dict(
        auth_method=method,
        account_id=account.account_id,
        display_name=account.display_name,
        profile=account.profile,
        access_token_sealed=rt.cipher.seal(tokens.access_token),
        refresh_token_sealed=sealed_refresh,
        token_expires_at=tokens.expires_at,
        auth_params=tokens.auth_params,
        lease_owner=None,
        lease_expires_at=None,
        refresh_claim=None,  # a refresh of the old tokens in flight must not hold up the new ones
        refresh_claim_expires_at=None,
        **initial_health(now),
    )
    for _attempt in range(2):
        with write_locked(rt.sessions) as session:
            row = session.scalar(
                select(Connection).where(Connection.user_id == user_id, Connection.provider == provider)
            )
            reconnected = row is not None
            if row is None:
                row = Connection(user_id=user_id, provider=provider, token_version=1, **fields)
                session.add(row)
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
                row.token_version += 1
            try:
                session.flush()
            except IntegrityError:  # a concurrent callback inserted it first: update that one
                session.rollback()
                continue
            row.next_check_at = regular_check_at(row.id, now, rt.settings.HEALTH_CHECK_INTERVAL_SECONDS)
            record_check(session, row.id, now, source=CheckSource.CONNECT, outcome=Outcome.OK, status_after=row.status,
                         reason="", latency_ms=None)
            journal_hooks.connection_saved(session, user_id=user_id, provider=provider, connection_id=row.id,
                                           account=account.display_name, reconnected=reconnected)  # lane notify
            session.commit()
            connection_id = row.id
        log.info("connection saved: provider=%s user=%s connection=%s reconnected=%s",
                 provider, user_id, connection_id, reconnected)
        verb = "переподключён" if reconnected else "подключён"
        return ConnectResult(True, f"{title} {verb}: {account.display_name}", provider, connection_id, reconnected)
    return ConnectResult(False, "Не удалось сохранить подключение, попробуйте ещё раз.", provider)


def _short(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum() or ch in "_-.")[:60]
