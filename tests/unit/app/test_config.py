"""``Settings.from_env``: production refuses to start without its secrets; versioned peppers."""

from __future__ import annotations

import base64

import pytest

from app import create_app
from app.config import ConfigError, Settings, parse_peppers

SECRET = "s" * 40
PEPPER = "pepper-0123456789abcdef"
DATA_KEYS = "1:" + base64.b64encode(b"d" * 32).decode()


@pytest.mark.parametrize(("env", "missing"), [
    ({}, ["KYB_SECRET_KEY", "KYB_TOKEN_PEPPER", "KYB_DATA_KEYS"]),
    ({"KYB_TOKEN_PEPPER": PEPPER, "KYB_DATA_KEYS": DATA_KEYS}, ["KYB_SECRET_KEY"]),
    ({"KYB_SECRET_KEY": SECRET, "KYB_DATA_KEYS": DATA_KEYS}, ["KYB_TOKEN_PEPPER"]),
    ({"KYB_SECRET_KEY": "", "KYB_TOKEN_PEPPER": PEPPER, "KYB_DATA_KEYS": DATA_KEYS},
     ["KYB_SECRET_KEY"]),
    ({"KYB_SECRET_KEY": SECRET, "KYB_TOKEN_PEPPER": PEPPER}, ["KYB_DATA_KEYS"]),
])
def test_production_without_secrets_raises_config_error_naming_them(env, missing):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"KYB_ENV": "production", **env})
    for name in missing:
        assert name in str(info.value)
    for name in {"KYB_SECRET_KEY", "KYB_TOKEN_PEPPER", "KYB_DATA_KEYS"} - set(missing):
        assert name not in str(info.value)


def test_create_app_refuses_to_start_in_production_without_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("KYB_ENV", "production")
    monkeypatch.delenv("KYB_SECRET_KEY", raising=False)
    monkeypatch.delenv("KYB_TOKEN_PEPPER", raising=False)
    monkeypatch.setenv("KYB_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigError, match="KYB_SECRET_KEY"):
        create_app()


def test_production_refuses_a_short_secret_key():
    with pytest.raises(ConfigError, match="32 characters"):
        Settings.from_env({"KYB_ENV": "production", "KYB_SECRET_KEY": "s" * 31,
                           "KYB_TOKEN_PEPPER": PEPPER, "KYB_DATA_KEYS": DATA_KEYS})


def test_production_with_secrets_starts_and_hardens_defaults():
    settings = Settings.from_env({"KYB_ENV": "production", "KYB_SECRET_KEY": SECRET,
                                  "KYB_TOKEN_PEPPER": PEPPER, "KYB_DATA_KEYS": DATA_KEYS})
    assert settings.env == "production"
    assert settings.secret_key == SECRET
    assert settings.token_peppers == {1: PEPPER.encode()}
    assert settings.accept_test_keys is False


def test_development_defaults_need_no_environment():
    settings = Settings.from_env({})
    assert settings.env == "development"
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith(
        "kyb.db")
    assert settings.accept_test_keys is True
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.gateway_cidrs == ("127.0.0.0/8", "::1/128")


def test_unknown_environment_name_is_refused():
    with pytest.raises(ConfigError, match="KYB_ENV"):
        Settings.from_env({"KYB_ENV": "staging"})


def test_lists_and_flags_are_parsed():
    settings = Settings.from_env({"KYB_TRUSTED_PROXIES": " 10.0.0.0/8 , ,192.168.0.0/16",
                                  "KYB_FETCH_ALLOW_PRIVATE": "yes",
                                  "KYB_ACCEPT_TEST_KEYS": "0",
                                  "KYB_KEY_ACTIVATION_DELAY": "0"})
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.168.0.0/16")
    assert settings.fetch_allow_private is True
    assert settings.accept_test_keys is False
    assert settings.key_activation_delay == 0


@pytest.mark.parametrize(("spec", "peppers", "current"), [
    ("single-secret-0123456789", {1: b"single-secret-0123456789"}, 1),
    ("2:new-secret-0123456789ab,1:old-secret-0123456789ab",
     {2: b"new-secret-0123456789ab", 1: b"old-secret-0123456789ab"}, 2),
    ("1:old-secret-0123456789ab, 3:newest-secret-0123456789", {
        1: b"old-secret-0123456789ab", 3: b"newest-secret-0123456789"}, 1),
    ("abc:secret-with-a-colon-0123", {1: b"abc:secret-with-a-colon-0123"}, 1),
])
def test_versioned_peppers_parse(spec, peppers, current):
    assert parse_peppers(spec) == (peppers, current)


def test_versioned_peppers_reach_the_settings():
    settings = Settings.from_env({"KYB_TOKEN_PEPPER": "7:seven-secret-0123456789,"
                                                      "6:six-secret-0123456789ab"})
    assert settings.token_pepper_version == 7
    assert set(settings.token_peppers) == {6, 7}


@pytest.mark.parametrize("spec", ["", ",", "2:short", "short", "2:new-secret-0123456789ab,1:x",
                                  "1:first-secret-0123456789,1:second-secret-012345678"])
def test_bad_pepper_specs_are_refused(spec):
    with pytest.raises(ConfigError, match="KYB_TOKEN_PEPPER"):
        parse_peppers(spec)


def test_replace_refuses_unknown_settings():
    with pytest.raises(ConfigError, match="colour"):
        Settings().replace(colour="red")
    assert Settings().replace(env="testing").env == "testing"
