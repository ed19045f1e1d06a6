"""Notify: bilingual notices by in-app message, email, SMS and WhatsApp, with dedupe keys and retries."""

from pathlib import Path

SERVICE_ROOT = Path(__file__).resolve().parents[2]
