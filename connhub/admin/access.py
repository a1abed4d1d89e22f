"""Who is an administrator: the one decision, made here and nowhere else.

An administrator is
  - the local operator (no `[auth]`: connhub serves one person on this machine), or
  - a signed-in user whose e-mail is listed in ADMIN_EMAILS (compared case-insensitively; an
    identity provider that says the address is not verified, `email_verified: false`, is not
    believed), or
  - with ADMIN_GROUPS_CLAIM set, a signed-in user whose claim of that name (a list of strings,
    or one comma-separated string) holds one of ADMIN_GROUPS.

The page builds an `Actor` from what the identity provider sent at sign-in; every admin service
call checks it again itself (`require_admin`), so no page, URL or query parameter is a way in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connhub.config import Settings
from connhub.users import LOCAL_SUBJECT, UserView


class NotAdmin(PermissionError):
    """An admin service was called for someone who is not an administrator."""


@dataclass(frozen=True)
class Actor:
    """Who is asking: the app's user and what the identity provider said about them."""

    user: UserView
    groups: frozenset[str] = field(default_factory=frozenset)
    email_verified: bool = True

    @property
    def label(self) -> str:
        return self.user.email or self.user.label


def groups_from_claim(value: object) -> frozenset[str]:
    """A group claim as a set: a list of strings, or one comma-separated string; anything else is none."""
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return frozenset(str(part).strip() for part in value if isinstance(part, str | int) and str(part).strip())
    return frozenset()


def actor_from_claims(user: UserView, claims: Mapping[str, object] | None, settings: Settings) -> Actor:
    """The actor for a signed-in user (claims: what `st.user` holds); None claims: the local operator."""
    if claims is None:
        return Actor(user)
    groups = groups_from_claim(claims.get(settings.ADMIN_GROUPS_CLAIM)) if settings.ADMIN_GROUPS_CLAIM else frozenset()
    return Actor(user, groups=groups, email_verified=claims.get("email_verified") is not False)


def is_admin(user: Actor | UserView, settings: Settings) -> bool:
    """Whether `user` administers connhub (see the module's docstring)."""
    actor = user if isinstance(user, Actor) else Actor(user)
    if actor.user.subject == LOCAL_SUBJECT:  # OIDC subjects are namespaced and never equal this
        return True
    email = actor.user.email.strip().lower()
    if email and actor.email_verified and email in settings.admin_emails:
        return True
    return bool(settings.ADMIN_GROUPS_CLAIM and actor.groups & settings.admin_groups)


def require_admin(actor: Actor | UserView, settings: Settings) -> Actor:
    """The actor, if an administrator; NotAdmin otherwise (every admin service call starts here)."""
    if not is_admin(actor, settings):
        raise NotAdmin("this action is for connhub administrators")
    return actor if isinstance(actor, Actor) else Actor(actor)
