"""Azurite, the Azure Storage emulator, as a pytest fixture (loaded with ``pytest_plugins``).

``azurite`` starts ``node_modules/.bin/azurite-blob`` once per session on 127.0.0.1 (a free port,
in-memory storage) and stops it by its PID afterwards; ``azure_env`` points the project's Azure
settings (``ENV``, ``AZURE_STORAGE_ACCOUNT_NAME``/``KEY``, ``AZURE_BLOB_ENDPOINT``) at it for one test
and hands out a fresh container URL. The account is the emulator's published development account.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

import constants

AZURITE = constants.PROJECT_ROOT / "node_modules" / ".bin" / "azurite-blob"
# The published Azurite development account (documented by Microsoft; not a secret).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT_S = 30


@dataclass(frozen=True)
class Azurite:
    """A running emulator: its blob endpoint and process id."""

    endpoint: str
    pid: int
    key: str = KEY

    def env(self, key: str = KEY) -> dict[str, str]:
        """The environment variables that point the project at this emulator."""
        return {
            "ENV": "development",
            "AZURE_STORAGE_ACCOUNT_NAME": ACCOUNT,
            "AZURE_STORAGE_ACCOUNT_KEY": key,
            "AZURE_BLOB_ENDPOINT": self.endpoint,
        }


@pytest.fixture(scope="session")
def azurite(tmp_path_factory) -> Azurite:
    """Start Azurite on 127.0.0.1 for the session; stop it by PID at the end."""
    if not AZURITE.exists():
        pytest.skip(f"Azurite is not installed ({AZURITE} missing): run `npm ci` or `make setup`")
    log_path = Path(tmp_path_factory.mktemp("azurite")) / "azurite.log"
    command = [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
               "--skipApiVersionCheck", "--loose", "--disableTelemetry"]  # fmt: skip
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        endpoint = _wait_for_endpoint(process, log_path)
        yield Azurite(f"{endpoint}/{ACCOUNT}", process.pid)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for_endpoint(process: subprocess.Popen, log_path: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        found = re.search(r"listens on (http://127\.0\.0\.1:\d+)", log_path.read_text())
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"Azurite did not start: {log_path.read_text()[-500:]}")


@pytest.fixture
def azure_env(azurite, monkeypatch) -> str:
    """Point the Azure settings at the emulator (no ``.env`` read) and return a fresh ``az://`` prefix."""
    from utils.core import azure

    monkeypatch.setattr(azure, "DOTENV_PATH", Path("/nonexistent/.env"))
    for name, value in azurite.env().items():
        monkeypatch.setenv(name, value)
    return f"az://t{uuid.uuid4().hex[:12]}/run"
