"""The VK shop options (issue 20): the albums the sync keeps, one per Evotor group."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from connhub.models.base import Base, UTCDateTime, utcnow


class SyncAlbum(Base):
    """One album (VK «подборка») the sync keeps for an Evotor group in a community.

    Written with no `album_id` before the album is made (a lost answer is adopted by title on the
    next run); `created` says connhub made it (only those are ever deleted) rather than adopting
    the owner's album of the same title. `items` are the item ids the sync put in it."""

    __tablename__ = "sync_albums"
    __table_args__ = (UniqueConstraint("user_id", "store_id", "group_id", "source_group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    store_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int] = mapped_column(BigInteger)  # positive VK community id
    source_group_id: Mapped[str] = mapped_column(String(64))  # the Evotor group
    album_id: Mapped[int | None] = mapped_column(BigInteger)  # None: being made
    title: Mapped[str] = mapped_column(String(128))
    created: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    items: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
