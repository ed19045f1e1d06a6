"""Put what the PDF documents need beside the project (`make setup` runs this once): the Noto fonts in var/fonts,
and HarfBuzz's subsetter in var/lib.

The documents (Form-2, show-cause notices, the interim order, Form-3, Form-4) are set in Noto Sans Devanagari, with
Noto Sans for the Latin letters (the English half, registration numbers, URLs), which the Devanagari face lacks. They
come from Debian's `fonts-noto-core`. WeasyPrint embeds a subset of each font; with `libharfbuzz-subset0` it makes
the subset in C, five times faster than its fontTools fallback, and byte-for-byte the same each time. Both packages
are downloaded (`apt-get download`, no root needed) and unpacked (`dpkg-deb -x`), not installed; notify loads the
library from var/lib (nivaran_notify.documents). A machine that is not Debian can point NIVARAN_NOTIFY_FONTS_DIR at a
folder holding these fonts; without the library, WeasyPrint falls back to fontTools.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FONTS_PACKAGE = "fonts-noto-core"
FONTS = (
    "NotoSansDevanagari-Regular.ttf",
    "NotoSansDevanagari-Bold.ttf",
    "NotoSans-Regular.ttf",
    "NotoSans-Bold.ttf",
)
FONTS_INSIDE = Path("usr/share/fonts/truetype/noto")
SUBSET_PACKAGE = "libharfbuzz-subset0"
SUBSET_LIBRARY = "libharfbuzz-subset.so.0"


def _unpacked(package: str, work: Path) -> Path:
    """Download a Debian package into `work` and unpack it; the folder it unpacked into."""
    subprocess.run(["apt-get", "download", "-q", package], cwd=work, check=True, stdout=subprocess.DEVNULL)
    [deb] = list(work.glob(f"{package}_*.deb"))
    root = work / package
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def fetch(fonts_dir: Path, lib_dir: Path) -> None:
    want_fonts = not all((fonts_dir / name).is_file() for name in FONTS)
    want_subset = not (lib_dir / SUBSET_LIBRARY).is_file()
    if not (want_fonts or want_subset):
        return
    if any(shutil.which(tool) is None for tool in ("apt-get", "dpkg-deb")):
        if want_fonts:
            sys.exit(
                f"fetch_pdf_deps: apt-get/dpkg-deb not found. Put {', '.join(FONTS)} (Noto, e.g. Debian's "
                f"{FONTS_PACKAGE}) in {fonts_dir}, or set NIVARAN_NOTIFY_FONTS_DIR to a folder holding them."
            )
        print("fetch_pdf_deps: no apt-get; WeasyPrint will subset fonts with fontTools (slower)")
        return
    with tempfile.TemporaryDirectory(prefix="nivaran-pdf-deps-") as tmp:
        work = Path(tmp)
        # apt's download user must be able to write here (else it warns and downloads as root).
        work.chmod(0o777)
        if want_fonts:
            root = _unpacked(FONTS_PACKAGE, work)
            fonts_dir.mkdir(parents=True, exist_ok=True)
            for name in FONTS:
                shutil.copyfile(root / FONTS_INSIDE / name, fonts_dir / name)
            print(f"fetch_pdf_deps: {', '.join(FONTS)} in {fonts_dir}")
        if want_subset:
            root = _unpacked(SUBSET_PACKAGE, work)
            found = sorted(root.glob(f"usr/lib/*/{SUBSET_LIBRARY}.*")) or sorted(
                root.glob(f"usr/lib/{SUBSET_LIBRARY}.*")
            )
            if not found:
                print(f"fetch_pdf_deps: {SUBSET_LIBRARY} not in {SUBSET_PACKAGE} for {platform.machine()}; skipped")
                return
            lib_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found[-1], lib_dir / SUBSET_LIBRARY)
            print(f"fetch_pdf_deps: {SUBSET_LIBRARY} in {lib_dir}")


if __name__ == "__main__":
    fetch(
        Path(sys.argv[1] if len(sys.argv) > 1 else "var/fonts"), Path(sys.argv[2] if len(sys.argv) > 2 else "var/lib")
    )
