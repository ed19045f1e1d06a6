"""Identity: citizens and officers, registration and approval, postings, delegation, OTP, tokens."""

from pathlib import Path

SERVICE_ROOT = Path(__file__).resolve().parents[2]
