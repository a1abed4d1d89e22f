"""A local emulation of the providers' side, for demos and every test.

This package is the generic plumbing: the HTTP server and its route table, the shared state
(codes, grants, tokens, faults, counters), the consent screen, and a control API under /_sandbox
for revoking, expiring, minting tokens and injecting faults. Each provider's emulation lives in
its own package (`connhub/providers/<key>/sandbox/`, an `Emulation`) and speaks that
provider's protocol as docs/providers.md describes it; the server hosts every registered one.

    with SandboxServer(connhub.runtime.emulations()) as sandbox:
        control = SandboxControl(sandbox.base_url)
        ...  # point connhub at sandbox.env()

Run it on its own with `python -m connhub.sandbox` (the composition root: it hands the server
the registered providers' emulations).
"""

from connhub.sandbox.control import SandboxControl, SandboxControlError
from connhub.sandbox.emulation import Emulation
from connhub.sandbox.server import SandboxServer, sandbox_env
from connhub.sandbox.state import SandboxState

__all__ = [
    "Emulation",
    "SandboxControl",
    "SandboxControlError",
    "SandboxServer",
    "SandboxState",
    "sandbox_env",
]
