"""Secure by default: prod unless told otherwise; outside dev no secret is missing, public or weak."""

from __future__ import annotations

import os
import secrets
from typing import ClassVar

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from nivaran_common.secret_strength import IssuedCredential
from nivaran_common.settings import DEV_ONLY_SECRET_PREFIX, Profile, ServiceSettings, load_settings

DEV_KEY = DEV_ONLY_SECRET_PREFIX + "example-key"


class ExampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NIVARAN_EXAMPLE_", extra="ignore")
    required_in_prod: ClassVar[tuple[str, ...]] = ("database_url", "redis_url")

    redis_url: str = "redis://127.0.0.1:6379/0"
    # Ours: a dev default, so required outside dev, and held to 256 bits.
    signing_key: SecretStr = SecretStr(DEV_KEY)
    # A provider's: optional, and held to 128 bits when set.
    provider_api_key: IssuedCredential = SecretStr("")
    peer_target: str = "127.0.0.1:1"


CONNECTIONS = {"database_url": "postgresql+psycopg://example@db/example", "redis_url": "redis://redis:6379/0"}


@pytest.fixture(autouse=True)
def no_nivaran_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("NIVARAN_")]:
        monkeypatch.delenv(name)


def problems_of(**values: object) -> str:
    with pytest.raises(ValidationError) as refused:
        ExampleSettings(**values)
    return str(refused.value)


def test_the_profile_defaults_to_prod_and_dev_must_be_asked_for() -> None:
    assert ExampleSettings.model_fields["profile"].default is Profile.PROD
    assert ExampleSettings(profile=Profile.DEV).signing_key.get_secret_value() == DEV_KEY


def test_with_no_environment_every_missing_setting_is_named_by_its_variable() -> None:
    message = problems_of()
    assert "NIVARAN_EXAMPLE_DATABASE_URL is required in profile prod" in message
    assert "NIVARAN_EXAMPLE_REDIS_URL is required in profile prod" in message
    assert "NIVARAN_EXAMPLE_SIGNING_KEY is required in profile prod" in message
    # Optional secrets may stay empty: the feature that needs one is simply not configured.
    assert "PROVIDER_API_KEY" not in message


def test_prod_starts_with_its_connections_and_a_generated_key() -> None:
    key = secrets.token_urlsafe(32)
    settings = ExampleSettings(profile=Profile.PROD, signing_key=key, **CONNECTIONS)
    assert settings.signing_key.get_secret_value() == key


def test_test_profile_holds_secrets_to_prod_rules_but_may_keep_the_embedded_connections() -> None:
    assert "NIVARAN_EXAMPLE_SIGNING_KEY is required in profile test" in problems_of(profile=Profile.TEST)
    settings = ExampleSettings(profile=Profile.TEST, signing_key=secrets.token_hex(32))
    assert settings.database_url == ServiceSettings.model_fields["database_url"].default


@pytest.mark.parametrize("profile", [Profile.TEST, Profile.PROD])
@pytest.mark.parametrize(
    "value",
    [DEV_KEY, DEV_ONLY_SECRET_PREFIX + secrets.token_urlsafe(32)],
    ids=["the dev default", "any dev-only value"],
)
def test_a_dev_value_is_refused_outside_dev_even_when_set_explicitly(profile: Profile, value: str) -> None:
    message = problems_of(profile=profile, signing_key=value, **CONNECTIONS)
    assert (
        f"NIVARAN_EXAMPLE_SIGNING_KEY holds a public dev value; profile {profile} needs a secret of its own" in message
    )


def test_a_dev_value_is_refused_in_any_secret_and_a_dev_only_value_in_any_setting() -> None:
    key = secrets.token_urlsafe(32)
    message = problems_of(profile=Profile.PROD, signing_key=key, provider_api_key=DEV_KEY, **CONNECTIONS)
    assert "NIVARAN_EXAMPLE_PROVIDER_API_KEY holds a public dev value" in message
    message = problems_of(profile=Profile.PROD, signing_key=key, peer_target=DEV_KEY, **CONNECTIONS)
    assert "NIVARAN_EXAMPLE_PEER_TARGET holds a dev-only default" in message


def test_a_one_character_or_short_secret_is_refused_naming_the_variable() -> None:
    message = problems_of(profile=Profile.PROD, signing_key="x", **CONNECTIONS)
    assert (
        "NIVARAN_EXAMPLE_SIGNING_KEY is too weak for profile prod: it has fewer than 8 distinct characters" in message
    )
    message = problems_of(profile=Profile.PROD, signing_key=secrets.token_urlsafe(24), **CONNECTIONS)
    assert "NIVARAN_EXAMPLE_SIGNING_KEY is too weak for profile prod: about 192 bits" in message
    assert "openssl rand -base64 32" in message


def test_a_provider_credential_needs_128_bits_not_256() -> None:
    key = secrets.token_urlsafe(32)
    settings = ExampleSettings(
        profile=Profile.PROD, signing_key=key, provider_api_key=secrets.token_hex(16), **CONNECTIONS
    )
    assert settings.provider_api_key.get_secret_value()
    message = problems_of(profile=Profile.PROD, signing_key=key, provider_api_key="s3cret-pass", **CONNECTIONS)
    assert "NIVARAN_EXAMPLE_PROVIDER_API_KEY is too weak for profile prod: about 67 bits" in message


def test_dev_accepts_anything() -> None:
    settings = ExampleSettings(profile=Profile.DEV, signing_key="x", provider_api_key="s3cret")
    assert settings.signing_key.get_secret_value() == "x"


def test_load_settings_exits_naming_each_variable_and_never_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIVARAN_EXAMPLE_SIGNING_KEY", "short-but-secret")
    monkeypatch.setenv("NIVARAN_EXAMPLE_GRPC_PORT", "70000")
    with pytest.raises(SystemExit) as stopped:
        load_settings(ExampleSettings)
    message = str(stopped.value.code)
    assert message.startswith("ExampleSettings: refusing to start:\n")
    assert "  NIVARAN_EXAMPLE_GRPC_PORT: Input should be less than or equal to 65535" in message
    assert "short-but-secret" not in message

    monkeypatch.setenv("NIVARAN_EXAMPLE_GRPC_PORT", "50000")
    with pytest.raises(SystemExit) as stopped:
        load_settings(ExampleSettings)
    lines = str(stopped.value.code).splitlines()
    assert "  NIVARAN_EXAMPLE_DATABASE_URL is required in profile prod" in lines
    assert any(line.startswith("  NIVARAN_EXAMPLE_SIGNING_KEY is too weak for profile prod") for line in lines)
    assert "short-but-secret" not in str(stopped.value.code)
    assert "  (prod is the default profile: set NIVARAN_EXAMPLE_PROFILE=dev on a developer's machine)" in lines

    monkeypatch.setenv("NIVARAN_EXAMPLE_PROFILE", "prod")
    with pytest.raises(SystemExit) as stopped:
        load_settings(ExampleSettings)
    assert "default profile" not in str(stopped.value.code)


def test_a_refusal_never_echoes_the_values_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIVARAN_EXAMPLE_SIGNING_KEY", "short-but-secret")
    message = problems_of()
    assert "NIVARAN_EXAMPLE_SIGNING_KEY is too weak" in message
    assert "short-but-secret" not in message
