"""Shared rate limits (issue 19): one row per limited key (a provider's token, by hash), held in the
database so every process and host that uses the key takes its turns from the same schedule."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from connhub.models.base import Base


class RateBucket(Base):
    """A key's schedule of turns, in seconds since the epoch of the clock that took them.

    `slot_at` is the last turn handed out, `clock_at` the clock when it was handed out, and
    `next_at` the earliest next turn (`connhub.ratelimit`)."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # "vk:" + sha256 of the token, never the token
    slot_at: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    clock_at: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    next_at: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
