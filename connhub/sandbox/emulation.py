"""What a provider's emulation hands the generic sandbox: its routes, targets and seed data.

Each provider package has a `sandbox` package with an `EMULATION`; the composition root
(`connhub.runtime.emulations`, used by `python -m connhub.sandbox`) loads those of the registered
providers and hands them to the sandbox server, whose state and control API iterate them, so the
sandbox never looks a provider up nor branches on one. An emulation is built from the provider's protocol facts
(docs/providers.md), never from connhub's client code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connhub.sandbox.state import Issued, SandboxState
    from connhub.sandbox.web import Request, Response

Handler = Callable[["SandboxState", "Request"], "Response"]


@dataclass(frozen=True)
class Route:
    path: str
    methods: dict[str, Handler]
    description: str
    prefix: bool = False  # match every path below `path`


@dataclass(frozen=True)
class ApiErrorFault:
    """A provider-specific fault answer: `param` in POST /_sandbox/faults names an error code that
    requests of `target` get instead of the real answer (e.g. VK's HTTP-200 API errors)."""

    param: str
    target: str
    answer: Callable[[Request, int], Response]


@dataclass(frozen=True)
class Emulation:
    provider: str  # the registry key, also the name used by the control API
    title: str
    client_id: str
    accounts: Mapping[str, Any]  # demo account id -> its seed data; never mutated
    label: Callable[[str], str]  # how the consent screen names an account
    routes: tuple[Route, ...]
    targets: tuple[tuple[str, str], ...]  # (path prefix, fault/counter target), first match wins
    env: Callable[[str], dict[str, str]]  # the variables that point connhub at a sandbox at this base URL
    new_token: Callable[[], str]  # a fresh access or refresh token in the provider's shape
    access_ttl: tuple[str, int]  # the config name and default lifetime of its access tokens
    client_secret: str = ""
    oauth_targets: frozenset[str] = frozenset()  # targets whose faults answer like an OAuth server
    fault_headers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # extra 429 headers, by target
    revoke_modes: tuple[str, ...] = ("revoke",)  # what POST /_sandbox/revoke may mark a grant with
    refresh_refusals: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # mode -> (description, error)
    kinds: tuple[str, ...] = ("oauth",)  # what POST /_sandbox/tokens may mint
    binds_device: bool = False  # grants carry a device id that every refresh must present
    minted: Callable[[Issued], dict[str, Any]] = lambda issued: {}  # extra fields of a minted token
    api_error_fault: ApiErrorFault | None = None
    links: tuple[tuple[str, str], ...] = ()  # (path, text) shown on the sandbox's index page
    # Provider-owned state beyond grants (e.g. a catalog): built at start and on every reset,
    # reached by handlers through `SandboxState.extra(provider)`.
    extra_state: Callable[[], Any] | None = None

    def default_account(self) -> str:
        """The account used when a caller names none: the first demo account."""
        return next(iter(self.accounts))


def load(module: str) -> Emulation:
    emulation = importlib.import_module(module).EMULATION
    if not isinstance(emulation, Emulation):
        raise TypeError(f"{module}.EMULATION is not an Emulation")
    return emulation

