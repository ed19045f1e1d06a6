"""Settings refuse the dev conveniences (fixed OTP, demo seed, default key secret) outside the dev profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from nivaran_common.settings import Profile
from nivaran_identity.settings import IdentitySettings

REAL_SECRET = "a-real-secret-from-the-operator-0123456789"


@pytest.mark.parametrize("profile", [Profile.TEST, Profile.PROD])
def test_fixed_otp_is_refused_outside_dev(profile: Profile) -> None:
    with pytest.raises(ValidationError, match="fixed OTP"):
        IdentitySettings(profile=profile, dev_fixed_otp_enabled=True, key_encryption_secret=REAL_SECRET)


def test_fixed_otp_is_allowed_in_dev_and_off_by_default() -> None:
    assert IdentitySettings(profile=Profile.DEV, dev_fixed_otp_enabled=True).dev_fixed_otp == "123456"
    assert not IdentitySettings(profile=Profile.PROD, key_encryption_secret=REAL_SECRET).dev_fixed_otp_enabled


def test_fixed_otp_must_be_six_digits() -> None:
    with pytest.raises(ValidationError, match="six digits"):
        IdentitySettings(profile=Profile.DEV, dev_fixed_otp="12ab")


def test_seed_file_is_refused_outside_dev(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="seed_file"):
        IdentitySettings(profile=Profile.PROD, seed_file=tmp_path / "demo.yaml", key_encryption_secret=REAL_SECRET)


def test_default_key_encryption_secret_is_refused_outside_dev() -> None:
    with pytest.raises(ValidationError, match="key_encryption_secret"):
        IdentitySettings(profile=Profile.PROD)
    assert IdentitySettings(profile=Profile.PROD, key_encryption_secret=REAL_SECRET).profile is Profile.PROD


def test_officer_totp_is_required_outside_dev_by_default() -> None:
    assert not IdentitySettings(profile=Profile.DEV).officer_totp_required
    assert IdentitySettings(profile=Profile.PROD, key_encryption_secret=REAL_SECRET).officer_totp_required
    assert IdentitySettings(profile=Profile.DEV, require_officer_totp=True).officer_totp_required


def test_fixed_otp_from_the_environment_stops_a_prod_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIVARAN_IDENTITY_PROFILE", "prod")
    monkeypatch.setenv("NIVARAN_IDENTITY_KEY_ENCRYPTION_SECRET", REAL_SECRET)
    monkeypatch.setenv("NIVARAN_IDENTITY_DEV_FIXED_OTP_ENABLED", "true")
    with pytest.raises(ValidationError, match="fixed OTP"):
        IdentitySettings()
