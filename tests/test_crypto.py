import logging
import stat

import pytest
from cryptography.fernet import Fernet

from connhub.config import ConfigError
from connhub.crypto import KEY_FILE_NAME, Secret, TokenCipher, UnreadableToken, cipher_from_settings
from connhub.runtime import load_settings


def test_a_sealed_token_opens_to_the_same_value():
    cipher = TokenCipher([Fernet.generate_key()])
    sealed = cipher.seal(Secret("f46b89a5-8e80-4591-b0aa-94551790444b"))
    assert "f46b89a5" not in sealed
    assert cipher.open(sealed).reveal() == "f46b89a5-8e80-4591-b0aa-94551790444b"


def test_a_secret_never_prints_its_value(caplog):
    secret = Secret("vk1.a.super-secret")
    caplog.set_level(logging.INFO)
    logging.getLogger("test").info("token is %s / %r / %s", secret, secret, [secret])
    assert "super-secret" not in caplog.text
    assert "super-secret" not in f"{secret} {secret!r} {[secret]} {dict(t=secret)}"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)


def test_rotation_keeps_old_tokens_readable_and_reseals_under_the_new_key():
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    sealed_with_old = TokenCipher([old_key]).seal(Secret("token"))
    rotated = TokenCipher([new_key, old_key])
    assert rotated.open(sealed_with_old).reveal() == "token"
    resealed = rotated.reseal(sealed_with_old)
    assert TokenCipher([new_key]).open(resealed).reveal() == "token"


def test_a_token_sealed_with_an_unknown_key_is_unreadable_without_leaking_it():
    sealed = TokenCipher([Fernet.generate_key()]).seal(Secret("leak-me"))
    with pytest.raises(UnreadableToken) as raised:
        TokenCipher([Fernet.generate_key()]).open(sealed)
    assert "leak-me" not in str(raised.value)


def test_without_a_configured_key_one_is_generated_once_with_private_permissions(tmp_path):
    settings = load_settings(_env_file=None, CONNHUB_DATA_DIR=tmp_path / "data")
    first = cipher_from_settings(settings)
    key_file = tmp_path / "data" / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = first.seal(Secret("persisted"))
    assert cipher_from_settings(settings).open(sealed).reveal() == "persisted"


def test_a_malformed_secret_key_is_refused_naming_the_variable_but_not_its_value(tmp_path):
    settings = load_settings(_env_file=None, CONNHUB_DATA_DIR=tmp_path, CONNHUB_SECRET_KEY="changethis")
    with pytest.raises(ConfigError, match="CONNHUB_SECRET_KEY") as raised:
        cipher_from_settings(settings)
    assert "changethis" not in str(raised.value)
