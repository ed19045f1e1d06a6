"""Routing: geography, departments, offices, positions and reporting chains, categories, and L1 rules (S8, S5)."""

from pathlib import Path

SERVICE_ROOT = Path(__file__).resolve().parents[2]
