"""Sealing and opening tokens at rest.

Tokens are sealed with Fernet under a MultiFernet, so the key can rotate: the first key in
`CONNHUB_SECRET_KEY` (comma-separated) seals, every listed key opens. Without the variable a key
is generated once into the data directory with 0600 permissions and reused. The file appears
atomically, whole or not at all, so processes starting at once all read the same key. A key is
never generated when the database already holds sealed data: the tokens there were sealed with
a key that is gone, and a new one would silently make every one of them unreadable.

Plaintext tokens travel as `Secret`, whose repr and str never show the value, so a token that
ends up in a log line, an exception or a page shows as `Secret('***')`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

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

    def __reduce__(self) -> NoReturn:  # pickling would write the value somewhere we do not control
        raise TypeError("Secret cannot be pickled")


class UnreadableToken(Exception):
    """A sealed token could not be opened with any configured key."""


# What a user or an operator reads when a token cannot be opened (the key changed).
UNREADABLE_MESSAGE = ("Токен не расшифровывается текущим ключом шифрования connhub: ключ (CONNHUB_SECRET_KEY "
                      "или data/secret.key) сменился. Верните прежний ключ или подключите сервис заново")


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


def cipher_from_settings(settings: Settings, *, sealed_rows: Callable[[], int] | None = None) -> TokenCipher:
    """The cipher for this process. `sealed_rows` counts the sealed values already stored; when
    the key file is missing and that count is not zero, connhub refuses to start."""
    raw = settings.CONNHUB_SECRET_KEY.get_secret_value().strip()
    if raw:
        return TokenCipher(_parse_keys(raw))
    path = ensure_data_dir(settings) / KEY_FILE_NAME
    if not path.exists() and sealed_rows is not None:
        stored = sealed_rows()
        if stored:
            raise ConfigError(
                f"CONNHUB_SECRET_KEY: the key file {path} is missing, but the database holds {stored} sealed "
                "token(s). They were sealed with that key; a new key would make all of them unreadable, so "
                "connhub will not generate one. Restore the key file from a backup (or set CONNHUB_SECRET_KEY "
                "to the key), or, to start over, delete the connections and let users reconnect."
            )
    return TokenCipher([_load_or_create_key_file(path)])


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
    """Read the key file, or create it atomically: a complete file appears under its name, or none.

    The key is written to a private temporary file first and then hard-linked to the final name,
    which fails if another process got there first; then that process's key is read instead."""
    if not path.exists():
        fd, temporary = tempfile.mkstemp(prefix=".secret-", suffix=".tmp", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key() + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process created it first: use theirs
        finally:
            os.unlink(temporary)
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise ConfigError(f"CONNHUB_SECRET_KEY: the key file {path} is corrupt") from None
    return key
