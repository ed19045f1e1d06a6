"""Settings refuse the dev conveniences (fixed OTP, demo seed, default key secret) outside the dev profile."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from nivaran_common.settings import DEV_ONLY_SECRET_PREFIX, Profile
from nivaran_identity.settings import DEMO_SEED_FILE, IdentitySettings, demo_passwords

REAL_SECRET = secrets.token_urlsafe(32)
# What prod must set besides the key secret (in Kubernetes, from the nivaran-secrets Secret).
PROD_CONNECTIONS = {
    "database_url": "postgresql+psycopg://identity@db:5432/identity",
    "redis_url": "redis://redis:6379/0",
    "revocation_redis_url": "redis://redis:6379/0",
    "tls_ca_file": "/etc/nivaran/tls/ca.crt",
    "tls_cert_file": "/etc/nivaran/tls/tls.crt",
    "tls_key_file": "/etc/nivaran/tls/tls.key",
}


@pytest.mark.parametrize("profile", [Profile.TEST, Profile.PROD])
def test_fixed_otp_is_refused_outside_dev(profile: Profile) -> None:
    with pytest.raises(ValidationError, match="fixed OTP"):
        IdentitySettings(
            profile=profile, dev_fixed_otp_enabled=True, key_encryption_secret=REAL_SECRET, **PROD_CONNECTIONS
        )


def test_fixed_otp_is_allowed_in_dev_and_off_by_default() -> None:
    assert IdentitySettings(profile=Profile.DEV, dev_fixed_otp_enabled=True).dev_fixed_otp == "123456"
    assert not IdentitySettings(
        profile=Profile.PROD, key_encryption_secret=REAL_SECRET, **PROD_CONNECTIONS
    ).dev_fixed_otp_enabled


def test_fixed_otp_must_be_six_digits() -> None:
    with pytest.raises(ValidationError, match="six digits"):
        IdentitySettings(profile=Profile.DEV, dev_fixed_otp="12ab")


def test_seed_file_is_refused_outside_dev(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="seed_file"):
        IdentitySettings(
            profile=Profile.PROD,
            seed_file=tmp_path / "demo.yaml",
            key_encryption_secret=REAL_SECRET,
            **PROD_CONNECTIONS,
        )


@pytest.mark.parametrize("profile", [Profile.TEST, Profile.PROD])
def test_a_start_outside_dev_without_the_key_secret_names_its_variable(profile: Profile) -> None:
    with pytest.raises(
        ValidationError, match=f"NIVARAN_IDENTITY_KEY_ENCRYPTION_SECRET is required in profile {profile}"
    ):
        IdentitySettings(profile=profile, **PROD_CONNECTIONS)
    settings = IdentitySettings(profile=profile, key_encryption_secret=REAL_SECRET, **PROD_CONNECTIONS)
    assert settings.key_encryption_secret.get_secret_value() == REAL_SECRET


def test_the_dev_default_key_secret_is_refused_outside_dev_even_when_set_explicitly() -> None:
    dev_default = IdentitySettings(profile=Profile.DEV).key_encryption_secret.get_secret_value()
    assert dev_default.startswith(DEV_ONLY_SECRET_PREFIX)
    with pytest.raises(ValidationError, match="NIVARAN_IDENTITY_KEY_ENCRYPTION_SECRET holds a public dev value"):
        IdentitySettings(profile=Profile.PROD, key_encryption_secret=dev_default, **PROD_CONNECTIONS)


def test_a_demo_account_password_is_refused_as_a_secret_outside_dev() -> None:
    passwords = demo_passwords(DEMO_SEED_FILE)
    assert "dev-dm-patna-2026" in passwords
    for password in passwords:
        with pytest.raises(ValidationError, match="NIVARAN_IDENTITY_KEY_ENCRYPTION_SECRET holds a public dev value"):
            IdentitySettings(profile=Profile.PROD, key_encryption_secret=password, **PROD_CONNECTIONS)
        with pytest.raises(ValidationError, match="NIVARAN_IDENTITY_SMS_API_KEY holds a public dev value"):
            IdentitySettings(
                profile=Profile.PROD, key_encryption_secret=REAL_SECRET, sms_api_key=password, **PROD_CONNECTIONS
            )


def test_a_weak_key_secret_is_refused_outside_dev() -> None:
    with pytest.raises(ValidationError, match="NIVARAN_IDENTITY_KEY_ENCRYPTION_SECRET is too weak"):
        IdentitySettings(profile=Profile.TEST, key_encryption_secret="a-real-secret")


def test_with_no_profile_and_no_environment_identity_is_prod_and_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [name for name in os.environ if name.startswith("NIVARAN_")]:
        monkeypatch.delenv(name)
    with pytest.raises(ValidationError) as refused:
        IdentitySettings()
    for variable in ("DATABASE_URL", "REDIS_URL", "KEY_ENCRYPTION_SECRET"):
        assert f"NIVARAN_IDENTITY_{variable} is required in profile prod" in str(refused.value)


def test_officer_totp_is_required_outside_dev_by_default() -> None:
    assert not IdentitySettings(profile=Profile.DEV).officer_totp_required
    assert IdentitySettings(
        profile=Profile.PROD, key_encryption_secret=REAL_SECRET, **PROD_CONNECTIONS
    ).officer_totp_required
    assert IdentitySettings(profile=Profile.DEV, require_officer_totp=True).officer_totp_required


def test_fixed_otp_from_the_environment_stops_a_prod_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIVARAN_IDENTITY_PROFILE", "prod")
    monkeypatch.setenv("NIVARAN_IDENTITY_KEY_ENCRYPTION_SECRET", REAL_SECRET)
    monkeypatch.setenv("NIVARAN_IDENTITY_DATABASE_URL", PROD_CONNECTIONS["database_url"])
    for name, value in PROD_CONNECTIONS.items():
        monkeypatch.setenv(f"NIVARAN_IDENTITY_{name.upper()}", value)
    monkeypatch.setenv("NIVARAN_IDENTITY_DEV_FIXED_OTP_ENABLED", "true")
    with pytest.raises(ValidationError, match="fixed OTP"):
        IdentitySettings()
