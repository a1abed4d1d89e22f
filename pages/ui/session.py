"""The process's runtime and who is signed in: the access decision app.py routes on."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import streamlit as st

from connhub import connections
from connhub.config import ConfigError
from connhub.models import AccessKind
from connhub.runtime import Runtime
from connhub.users import LOCAL_SUBJECT, UserView, oidc_subject

LOCAL_NAME = "Локальный оператор"
USER_KEY = "_connhub_user"


@st.cache_resource(show_spinner=False, on_release=Runtime.close)
def runtime() -> Runtime:
    """One Runtime (engine, cipher, providers) per process, shared by all sessions."""
    return Runtime.from_settings()


@dataclass(frozen=True)
class Access:
    """What app.py should serve to this session."""

    kind: AccessKind
    user: UserView | None = None
    oidc: bool = False  # signed in through [auth] (st.login), not the local mode
    message: str = ""


def auth_configured() -> bool:
    """True when secrets.toml has an [auth] section: users sign in with st.login."""
    secrets = st.secrets  # looked up at call time: AppTest swaps st.secrets
    return secrets.load_if_toml_exists() and "auth" in secrets


def is_loopback_address(address: str | None) -> bool:
    host = (address or "").strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # empty (every interface) or a name we cannot vouch for


def server_address() -> str:
    return str(st.get_option("server.address") or "")


def foreign_host() -> str | None:
    """The name this page was opened by, when it is not this computer's (None when it is).

    A loopback bind address alone does not keep others out: a web page on another site can
    rebind its own name to 127.0.0.1 (DNS rebinding) and talk to connhub from the user's
    browser. The browser then names that site in the Host header (which page scripts cannot
    forge) and in the page's URL, so both are checked."""
    candidates = [st.context.headers.get("Host") or ""]
    candidates.append(urlsplit(st.context.url or "").netloc)
    for netloc in candidates:
        if not netloc:
            continue
        try:
            host = urlsplit(f"//{netloc}").hostname or ""
        except ValueError:
            return netloc[:100]
        if not is_loopback_address(host):
            return host[:100]
    return None


def resolve_access() -> Access:
    try:
        rt = runtime()
    except ConfigError as exc:
        return Access(AccessKind.CONFIG_ERROR, message=str(exc))
    if auth_configured():
        if not st.user.get("is_logged_in"):
            return Access(AccessKind.SIGN_IN, oidc=True)
        subject = str(st.user.get("sub") or "")
        if not subject:
            return Access(AccessKind.BAD_IDENTITY, oidc=True, message=(
                "Сервис входа не передал идентификатор пользователя (sub). "
                "Проверьте настройки OIDC-клиента в разделе [auth]."
            ))
        email = str(st.user.get("email") or "")
        name = str(st.user.get("name") or "")
        return Access(AccessKind.OK, user=_user_for(rt, oidc_subject(subject), email, name), oidc=True)
    if not is_loopback_address(server_address()):
        return Access(AccessKind.LOCAL_REFUSED)
    host = foreign_host()
    if host is not None:
        return Access(AccessKind.LOCAL_REFUSED, message=host)
    return Access(AccessKind.OK, user=_user_for(rt, LOCAL_SUBJECT, "", LOCAL_NAME))


def _user_for(rt: Runtime, subject: str, email: str, name: str) -> UserView:
    identity = (subject, email, name)
    cached = st.session_state.get(USER_KEY)
    if cached is not None and cached[0] == identity:
        user: UserView = cached[1]
        return user
    user = connections.signed_in(rt, subject=subject, email=email, name=name)
    st.session_state[USER_KEY] = (identity, user)
    return user


def require_user() -> UserView:
    """The signed-in user; stops the page for anyone else (app.py should not route them here)."""
    access = resolve_access()
    if access.user is None:
        st.warning("Войдите, чтобы продолжить.", icon=":material/lock:")
        st.stop()
    return access.user
