"""Intake: the grievance record, registration numbers, the append-only timeline; the system of record for reads."""

from pathlib import Path

SERVICE_ROOT = Path(__file__).resolve().parents[2]
