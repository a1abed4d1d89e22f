"""`ProviderError`: everything a provider call can go wrong with.

`permanent=True` means the provider rejected the credentials (only the user can fix that by
reconnecting), `permanent=False` means provider trouble (retry later, never a dead token).
"""

from __future__ import annotations

from connhub.ports import text


class ProviderError(Exception):
    """A provider call failed; the fields say what the user sees and whether to retry."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        code: str,
        retry_after: float | None = None,
    ) -> None:
        reason, code = text.clean(reason, text.REASON_MAX), text.code(code)  # may quote the provider
        super().__init__(f"{code}: {reason}")
        self.reason = reason  # Russian, shown on the card
        self.permanent = permanent
        self.code = code  # short technical tag for logs and tests: "http_401", "vk_5", "timeout"
        self.retry_after = retry_after
