"""Open an HTML report in headless Chromium, offline, and collect its JavaScript console errors.

Used by the tests (``@pytest.mark.browser``) to prove a generated report renders: Chromium loads the
file with networking, sync and component updates off, takes a screenshot, and every ``CONSOLE`` line
it logs is kept, so an uncaught script error or a failed resource shows up as text.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
)
ERROR_MARKERS = ("uncaught", "error", "failed to load", "not allowed to load")


@dataclass
class PageResult:
    """What Chromium did with one page: exit code, screenshot size, console lines and errors among them."""

    returncode: int
    screenshot_bytes: int
    console: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Console lines that report an error (uncaught exception, failed resource…)."""
        return [line for line in self.console if any(m in line.lower() for m in ERROR_MARKERS)]


def chromium_available() -> bool:
    """True when the Chromium binary this module drives is installed."""
    return os.access(CHROMIUM, os.X_OK)


def open_page(path: str | os.PathLike, screenshot: str | os.PathLike, *, timeout: float = 120) -> PageResult:
    """Load ``path`` (a local HTML file) headless, screenshot it, and return the console log."""
    url = Path(path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        completed = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}",
             "--window-size=1280,1600", url],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    console = [line for line in completed.stderr.splitlines() if ":CONSOLE" in line]
    size = Path(screenshot).stat().st_size if Path(screenshot).exists() else 0
    return PageResult(completed.returncode, size, console)
