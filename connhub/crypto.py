"""Sealing and opening tokens at rest.

Tokens are sealed with Fernet under a MultiFernet, so the key can rotate: the first key in
`CONNHUB_SECRET_KEY` (comma-separated) seals, every listed key opens. Without the variable a key
is generated once into the data directory with 0600 permissions and reused.

Plaintext tokens travel as `Secret`, whose repr and str never show the value, so a token that
ends up in a log line, an exception or a page shows as `Secret('***')`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from connhub.config import ConfigError, Settings, ensure_data_dir

KEY_FILE_NAME = "secret.key"


class Secret:
    """A string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):  # pickling would write the value somewhere we do not control
        raise TypeError("Secret cannot be pickled")


class UnreadableToken(Exception):
    """A sealed token could not be opened with any configured key."""


class TokenCipher:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, token: Secret) -> str:
        return self._fernet.encrypt(token.reveal().encode()).decode("ascii")

    def open(self, sealed: str) -> Secret:
        try:
            return Secret(self._fernet.decrypt(sealed.encode("ascii")).decode())
        except (InvalidToken, ValueError):
            raise UnreadableToken("stored token cannot be decrypted with the configured keys") from None

    def reseal(self, sealed: str) -> str:
        """Re-encrypt under the primary key (key rotation)."""
        return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")


def cipher_from_settings(settings: Settings) -> TokenCipher:
    raw = settings.CONNHUB_SECRET_KEY.get_secret_value().strip()
    if raw:
        return TokenCipher(_parse_keys(raw))
    return TokenCipher([_load_or_create_key_file(ensure_data_dir(settings) / KEY_FILE_NAME)])


def _parse_keys(raw: str) -> list[bytes]:
    keys = []
    for position, part in enumerate(raw.split(","), start=1):
        candidate = part.strip().encode("ascii", "ignore")
        try:
            Fernet(candidate)
        except (ValueError, TypeError):
            raise ConfigError(
                f"CONNHUB_SECRET_KEY: key #{position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from None
        keys.append(candidate)
    return keys


def _load_or_create_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(f"CONNHUB_SECRET_KEY: the key file {path} is corrupt") from None
        return key
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key
