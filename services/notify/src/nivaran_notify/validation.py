"""Checks and normalisation of the addresses a notice is sent to (shared with intake via nivaran_common)."""

from nivaran_common.contact import normalise_email, normalise_phone

__all__ = ["normalise_email", "normalise_phone"]
