"""Documents: the PDF notices the orders name (catalog), rendered with WeasyPrint (render), kept and verified (service).

WeasyPrint subsets each embedded font with HarfBuzz's subsetter when the process can load `libharfbuzz-subset.so.0`,
and with fontTools (five times slower, and not byte-for-byte repeatable) otherwise. A system that installed
`libharfbuzz-subset0` has it; a development checkout has the copy `make setup` unpacked into var/lib
(scripts/fetch_pdf_deps.py), which is loaded here, before WeasyPrint is imported, so that WeasyPrint's own lookup by
name finds it already loaded. NIVARAN_NOTIFY_HARFBUZZ_SUBSET names another copy.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from pathlib import Path

_SUBSET = "libharfbuzz-subset.so.0"


def _preload_subsetter() -> None:
    if ctypes.util.find_library("harfbuzz-subset"):
        return  # installed on the system: WeasyPrint finds it itself
    path = Path(os.environ.get("NIVARAN_NOTIFY_HARFBUZZ_SUBSET", f"var/lib/{_SUBSET}"))
    if path.is_file():
        # Built for another HarfBuzz than the system's: WeasyPrint falls back to fontTools.
        with contextlib.suppress(OSError):
            ctypes.CDLL(str(path.resolve()), mode=ctypes.RTLD_GLOBAL)


_preload_subsetter()
