"""Who is asking, as the admin services want it: the signed-in user and what the identity provider
said (`st.user`), or the local operator. The decision itself is `connhub.admin.access.is_admin`."""

from __future__ import annotations

import streamlit as st

from connhub.admin.access import Actor, actor_from_claims, is_admin
from pages.ui.session import Access, resolve_access, runtime

# «Обзор»'s choice of a user's connection or sync to open: this session's own widgets, never the URL.
OPEN_CONNECTION = "_connhub_admin_connection"
OPEN_SYNC = "_connhub_admin_sync"


def actor_of(access: Access) -> Actor | None:
    """The actor of a signed-in session (None for anyone else)."""
    if access.user is None:
        return None
    claims = dict(st.user.to_dict()) if access.oidc else None
    return actor_from_claims(access.user, claims, runtime().settings)


def admin_actor(access: Access | None = None) -> Actor | None:
    """The actor if they administer connhub, else None."""
    actor = actor_of(access or resolve_access())
    return actor if actor is not None and is_admin(actor, runtime().settings) else None
