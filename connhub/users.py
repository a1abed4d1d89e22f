"""The app's own users: one row per OIDC subject, created at first sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connhub.db import begin_write
from connhub.models import User

# Without `[auth]`, connhub runs for one operator on this machine as this implicit user.
LOCAL_SUBJECT = "local"
# OIDC subjects are stored namespaced, so no identity provider can ever name the local operator.
OIDC_PREFIX = "oidc:"


def oidc_subject(sub: str) -> str:
    return f"{OIDC_PREFIX}{sub}"


@dataclass(frozen=True)
class UserView:
    id: int
    subject: str
    email: str
    name: str

    @property
    def label(self) -> str:
        return self.name or self.email or self.subject


def ensure_user(session: Session, *, subject: str, email: str = "", name: str = "") -> UserView:
    """The user for this subject, created on first sight; name and email follow the IdP."""
    if not subject:
        raise ValueError("a user needs a subject")
    known = session.scalar(select(User).where(User.subject == subject))
    if known is not None and (not email or known.email == email) and (not name or known.name == name):
        view = UserView(id=known.id, subject=known.subject, email=known.email, name=known.name)
        session.rollback()
        return view
    session.rollback()
    for _attempt in range(2):
        begin_write(session)
        user = session.scalar(select(User).where(User.subject == subject))
        if user is None:
            user = User(subject=subject, email=email, name=name)
            session.add(user)
        else:
            if email and user.email != email:
                user.email = email
            if name and user.name != name:
                user.name = name
        try:
            session.commit()
        except IntegrityError:  # created by a concurrent first request of the same user
            session.rollback()
            continue
        return UserView(id=user.id, subject=user.subject, email=user.email, name=user.name)
    raise RuntimeError("could not create the user row")
