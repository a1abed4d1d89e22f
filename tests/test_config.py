import pytest

from connhub.config import ConfigError
from connhub.runtime import load_settings


def test_defaults_match_the_public_contract(tmp_path):
    settings = load_settings(_env_file=None, CONNHUB_DATA_DIR=tmp_path)
    assert settings.HEALTH_CHECK_INTERVAL_SECONDS == 600
    assert settings.PUBLIC_URL == "http://localhost:8501"
    env = settings.env()
    assert env["EVOTOR_OAUTH_URL"] == "https://oauth.evotor.ru"
    assert env["EVOTOR_API_URL"] == "https://api.evotor.ru"
    assert env["VK_ID_URL"] == "https://id.vk.com"
    assert env["VK_API_URL"] == "https://api.vk.com"
    assert settings.database_url == f"sqlite:///{tmp_path / 'connhub.db'}"
    assert settings.oauth_redirect_uri == "http://localhost:8501/oauth_callback"
    assert not settings.uses_sandbox


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HEALTH_CHECK_INTERVAL_SECONDS", "30")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db.internal/connhub")
    monkeypatch.setenv("PUBLIC_URL", "https://connhub.example/tool/")
    settings = load_settings(_env_file=None)
    assert settings.HEALTH_CHECK_INTERVAL_SECONDS == 30
    assert settings.database_url == "postgresql+psycopg://db.internal/connhub"
    assert settings.oauth_redirect_uri == "https://connhub.example/tool/oauth_callback"


def test_a_dotenv_file_is_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("HEALTH_CHECK_INTERVAL_SECONDS=42\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().HEALTH_CHECK_INTERVAL_SECONDS == 42


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HEALTH_CHECK_INTERVAL_SECONDS", "often"),
        ("HEALTH_CHECK_INTERVAL_SECONDS", "0"),
        ("PUBLIC_URL", "localhost:8501"),
        ("EVOTOR_API_URL", "ftp://api.evotor.ru"),
        ("VK_ID_URL", "https://id.vk.com/?x=1"),
        ("DATABASE_URL", "connhub.db"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings(_env_file=None)


def test_loopback_provider_urls_mean_the_sandbox(tmp_path):
    settings = load_settings(
        _env_file=None,
        EVOTOR_OAUTH_URL="http://127.0.0.1:8090/evotor",
        EVOTOR_API_URL="http://127.0.0.1:8090/evotor/api",
        VK_ID_URL="http://localhost:8090/vkid",
        VK_API_URL="http://[::1]:8090/vk",
    )
    assert settings.uses_sandbox


def test_secrets_do_not_show_in_the_settings_repr(tmp_path):
    settings = load_settings(_env_file=None, CONNHUB_DATA_DIR=tmp_path, CONNHUB_SECRET_KEY="k" * 44,
                             EVOTOR_CLIENT_SECRET="evotor-secret",
                             DATABASE_URL="postgresql+psycopg://connhub:db-password@db/connhub")
    shown = f"{settings!r} {settings}"
    for secret in ("k" * 44, "evotor-secret", "db-password"):
        assert secret not in shown
