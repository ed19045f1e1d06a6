"""Cross-service tests start the real processes through the same supervisor `make run` uses."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
# Shared helpers of the cross-service tests (tests/_suite.py), importable whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))
