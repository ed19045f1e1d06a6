"""Make sure the browser tests have their browser: Debian's `chromium` at /usr/bin/chromium, with a Devanagari font so
that Hindi pages render (and their screenshots read) as text rather than boxes (`make test` runs this).

Playwright drives this chromium (executable_path); it never downloads a browser of its own. A missing package is
installed with apt-get (as root); `apt-get update` is run first only when the install fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_PACKAGE = "chromium"
# Noto Sans Devanagari: the face the PDF documents use too (scripts/fetch_pdf_deps.py).
FONTS_PACKAGE = "fonts-noto-core"
FONT_FILE = Path("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf")


def missing_packages() -> list[str]:
    """The Debian packages still to install."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(CHROMIUM_PACKAGE)
    if not FONT_FILE.exists():
        missing.append(FONTS_PACKAGE)
    return missing


def apt_install(packages: list[str]) -> None:
    """apt-get install, refreshing the package lists once if the first attempt fails."""
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(command, env=env, check=False).returncode == 0:
        return
    subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
    subprocess.run(command, env=env, check=True)


def main() -> int:
    """Install what is missing; 0 when the browser is ready."""
    missing = missing_packages()
    if not missing:
        return 0
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(
            f"the browser tests need the Debian packages {' '.join(missing)}: "
            f"run `apt-get install --no-install-recommends {' '.join(missing)}` as root",
            file=sys.stderr,
        )
        return 1
    print(f"• installing {' '.join(missing)} for the browser tests …", flush=True)
    apt_install(missing)
    still = missing_packages()
    if still:
        print(f"still missing after apt-get: {' '.join(still)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
