"""A local emulation of the providers' side of Evotor and VK, for demos and every test.

It speaks the providers' protocols as shared/reference/providers.md describes them (OAuth consent
and token endpoints, GET /stores, users.get) and adds a control API under /_sandbox for revoking,
expiring, minting tokens and injecting faults. It never imports the connhub client code.

    with SandboxServer() as sandbox:
        control = SandboxControl(sandbox.base_url)
        ...  # point connhub at sandbox.env()

Run it on its own with `python -m connhub.sandbox`.
"""

from connhub.sandbox.accounts import EVOTOR_CLIENT_ID, EVOTOR_CLIENT_SECRET, VK_CLIENT_ID
from connhub.sandbox.control import SandboxControl, SandboxControlError
from connhub.sandbox.server import SandboxServer
from connhub.sandbox.state import SandboxState

__all__ = [
    "EVOTOR_CLIENT_ID",
    "EVOTOR_CLIENT_SECRET",
    "VK_CLIENT_ID",
    "SandboxControl",
    "SandboxControlError",
    "SandboxServer",
    "SandboxState",
]
