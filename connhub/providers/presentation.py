"""How a provider's account is shown, as data: a generic page renders it (no Streamlit here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class Fact:
    """One labelled value, e.g. «ID: 743784474 · vk.com/id743784474»."""

    label: str
    value: str
    link: Link | None = None


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = ""  # shown instead of an empty table


@dataclass(frozen=True)
class AccountPresentation:
    """The «Аккаунт» section of a service page: a heading, facts, then tables."""

    heading: str = ""
    facts: tuple[Fact, ...] = ()
    tables: tuple[Table, ...] = ()
