"""Azure Blob Storage configuration and access, in one place: ``az://container/path`` URLs via adlfs.

Settings come from ``.env`` (python-dotenv) with the process environment taking precedence:

    ENV=development                                   # development (default) or production
    AZURE_STORAGE_ACCOUNT_NAME=devstoreaccount1
    AZURE_STORAGE_ACCOUNT_KEY=<base64 account key>
    AZURE_BLOB_ENDPOINT=http://127.0.0.1:10000/devstoreaccount1   # optional: emulator or sovereign cloud

adlfs is always handed explicit storage options (a connection string with ``BlobEndpoint``, the
account and key, timeouts), never left to pick credentials from the environment by itself. The key
never appears in a log line, an error message or a ``repr``: errors from the Azure SDK are translated
into one-line :class:`~utils.cli.UserError` messages that name the URL and what went wrong.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import constants
from utils.core.cli import UserError

DOTENV_PATH = constants.PROJECT_ROOT / ".env"
SCHEMES = ("az", "abfs")
ENVIRONMENTS = ("development", "production")
TIMEOUT_S = 60  # server-side and read timeout of one blob operation
CONNECT_TIMEOUT_S = 10
RETRIES = 2  # the SDK's default (3 retries from a 15 s back-off) hangs for minutes on a bad endpoint
_AUTH_CODES = {"AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch"}

# The SDK logs every request at INFO; keep our step logs readable (headers are redacted anyway).
for _name in ("azure", "azure.core.pipeline.policies.http_logging_policy", "adlfs", "fsspec"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class AzureConfig:
    """The storage account to use; ``repr`` and ``str`` never show the key."""

    account_name: str
    account_key: str = field(repr=False)
    endpoint: str | None = None
    env: str = "development"

    @property
    def blob_endpoint(self) -> str:
        """The account's blob service URL (``AZURE_BLOB_ENDPOINT`` or the public cloud's)."""
        return self.endpoint or f"https://{self.account_name}.blob.core.windows.net"

    def connection_string(self) -> str:
        """An Azure connection string; contains the key, so never log it."""
        protocol = self.blob_endpoint.split("://", 1)[0]
        return (
            f"DefaultEndpointsProtocol={protocol};AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.blob_endpoint};"
        )

    def storage_options(self) -> dict:
        """Explicit adlfs options: nothing is left for adlfs to find in the environment."""
        return {
            "connection_string": self.connection_string(),
            "account_name": self.account_name,
            "account_key": self.account_key,
            "anon": False,
            "timeout": TIMEOUT_S,
            "connection_timeout": CONNECT_TIMEOUT_S,
            "read_timeout": TIMEOUT_S,
        }


def load_config(environ: Mapping[str, str] | None = None, dotenv_path: str | os.PathLike | None = None):
    """The :class:`AzureConfig` from ``.env`` and the environment, or a UserError naming what is missing."""
    from dotenv import dotenv_values

    path = Path(dotenv_path or DOTENV_PATH)
    values = {k: v for k, v in dotenv_values(path).items() if v} if path.is_file() else {}
    values.update({k: v for k, v in (os.environ if environ is None else environ).items() if v})
    missing = [k for k in ("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY") if k not in values]
    if missing:
        raise UserError(
            f"Azure storage is not configured: set {' and '.join(missing)} in .env (see .env.example)"
        )
    env = values.get("ENV", "development").lower()
    if env not in ENVIRONMENTS:
        raise UserError(f"ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    key = values["AZURE_STORAGE_ACCOUNT_KEY"].strip()
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise UserError("AZURE_STORAGE_ACCOUNT_KEY is not a base64 account key (check .env)") from None
    endpoint = values.get("AZURE_BLOB_ENDPOINT", "").strip().rstrip("/") or None
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise UserError(f"AZURE_BLOB_ENDPOINT must start with http:// or https://, got {endpoint!r}")
    if env == "production" and endpoint and endpoint.startswith("http://"):
        raise UserError(
            "ENV=production refuses a plain http:// AZURE_BLOB_ENDPOINT (the key would travel unencrypted)"
        )
    return AzureConfig(values["AZURE_STORAGE_ACCOUNT_NAME"].strip(), key, endpoint, env)


def split_url(url: str) -> tuple[str, str]:
    """``az://container/some/blob`` -> ``("container", "some/blob")``; a UserError for other URLs."""
    scheme, _, rest = str(url).partition("://")
    container, _, blob = rest.strip("/").partition("/")
    if scheme not in SCHEMES or not container:
        raise UserError(f"unsupported storage URL {url}: use az://container/path")
    return container, blob


def filesystem(config: AzureConfig | None = None):
    """An adlfs filesystem for ``config`` (default: :func:`load_config`), cached per config by fsspec."""
    config = config or load_config()
    try:
        return _filesystem_class()(**config.storage_options())
    except ValueError as error:  # adlfs wraps connection-string problems in ValueError
        raise UserError(
            f"cannot set up Azure storage for account {config.account_name}: {type(error).__name__}"
        ) from None


def _filesystem_class():
    """adlfs' filesystem whose service client has short timeouts and a short retry back-off."""
    from adlfs import AzureBlobFileSystem
    from azure.storage.blob.aio import BlobServiceClient, ExponentialRetry

    class BoundedAzureBlobFileSystem(AzureBlobFileSystem):
        def do_connect(self):
            retry = ExponentialRetry(
                initial_backoff=1, increment_base=2, retry_total=RETRIES, random_jitter_range=1
            )
            self.service_client = BlobServiceClient.from_connection_string(
                self.connection_string,
                retry_policy=retry,
                connection_timeout=CONNECT_TIMEOUT_S,
                read_timeout=TIMEOUT_S,
            )

    global _FILESYSTEM_CLASS
    _FILESYSTEM_CLASS = _FILESYSTEM_CLASS or BoundedAzureBlobFileSystem
    return _FILESYSTEM_CLASS


_FILESYSTEM_CLASS = None
_containers: set[tuple[str, str, str]] = set()


def ensure_container(fs, container: str, config: AzureConfig | None = None) -> None:
    """Create ``container`` if it does not exist yet (blob writes do not create it)."""
    config = config or load_config()
    marker = (config.blob_endpoint, config.account_name, container)
    if marker in _containers:
        return
    with errors(f"az://{container}", "creating container", config):
        try:
            fs.ls(container)  # authenticated: a wrong key fails here, not silently later
        except FileNotFoundError:
            with suppress(FileExistsError):
                fs.mkdir(container, exist_ok=True)
    _containers.add(marker)


@contextmanager
def errors(url: str, action: str, config: AzureConfig | None = None) -> Iterator[None]:
    """Translate Azure SDK / adlfs exceptions raised inside the block into one-line UserErrors."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    try:
        yield
    except UserError:
        raise
    except (FileNotFoundError, ResourceNotFoundError):
        raise UserError(f"{url} does not exist") from None
    except ClientAuthenticationError:
        raise UserError(_auth_message(url, action, config)) from None
    except HttpResponseError as error:
        code = getattr(error, "error_code", None) or ""
        if code in _AUTH_CODES or getattr(error, "status_code", None) == 403:
            raise UserError(_auth_message(url, action, config)) from None
        raise UserError(f"Azure storage error while {action} {url}: {code or error.status_code}") from None
    except (ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError, OSError) as error:
        where = config.blob_endpoint if config else "the blob endpoint"
        raise UserError(
            f"cannot reach Azure storage at {where} while {action} {url}: {type(error).__name__}"
        ) from None


def _auth_message(url: str, action: str, config: AzureConfig | None) -> str:
    account = config.account_name if config else "the configured account"
    return (
        f"Azure storage rejected the credentials of account {account} while {action} {url}: "
        "check AZURE_STORAGE_ACCOUNT_KEY in .env"
    )


def blob_path(url: str) -> str:
    """The adlfs path (``container/blob``) of an ``az://`` URL."""
    container, blob = split_url(url)
    return f"{container}/{blob}" if blob else container


def write_bytes(data: bytes, url: str) -> str:
    """Upload ``data`` to ``url`` as one blob; the upload commits whole or not at all."""
    config = load_config()
    fs = filesystem(config)
    container, blob = split_url(url)
    if not blob:
        raise UserError(f"{url} names a container, not a file")
    ensure_container(fs, container, config)
    with errors(url, "writing", config):
        fs.pipe_file(blob_path(url), data, overwrite=True)
    return url


def read_bytes(url: str) -> bytes:
    """Download the blob at ``url``."""
    config = load_config()
    fs = filesystem(config)
    with errors(url, "reading", config):
        return fs.cat_file(blob_path(url))


def exists(url: str) -> bool:
    """True if the blob (or folder prefix) at ``url`` exists."""
    config = load_config()
    fs = filesystem(config)
    with errors(url, "checking", config):
        fs.invalidate_cache(blob_path(url))
        return fs.exists(blob_path(url))


def list_names(url: str) -> list[str]:
    """Names of the blobs and folders directly under the prefix ``url`` (empty if there is none)."""
    config = load_config()
    fs = filesystem(config)
    with errors(url, "listing", config):
        fs.invalidate_cache(blob_path(url))
        if not fs.exists(blob_path(url)):
            return []
        entries = fs.ls(blob_path(url), detail=False)
    return sorted(entry.rstrip("/").rsplit("/", 1)[-1] for entry in entries)


def info(url: str) -> dict:
    """The blob's properties (size, etag, last_modified, content_settings…), fresh from the server."""
    config = load_config()
    fs = filesystem(config)
    with errors(url, "reading", config):
        fs.invalidate_cache(blob_path(url))
        found = fs.info(blob_path(url))
    if found.get("type") != "file":
        raise UserError(f"{url} is a folder, not a file")
    return found


def open_input(url: str, block_size: int = 8 << 20):
    """A binary file object reading the blob at ``url`` in ``block_size`` ranges."""
    config = load_config()
    fs = filesystem(config)
    with errors(url, "reading", config):
        return fs.open(blob_path(url), "rb", block_size=block_size)


def check_access(url: str) -> str:
    """Check the credentials and create the container of ``url`` (used before a run writes there)."""
    config = load_config()
    ensure_container(filesystem(config), split_url(url)[0], config)
    return url


def remove(url: str) -> None:
    """Delete the blob at ``url`` (nothing if it does not exist)."""
    config = load_config()
    fs = filesystem(config)
    with errors(url, "deleting", config), suppress(FileNotFoundError):
        fs.rm_file(blob_path(url))


def list_files(url: str) -> list[str]:
    """Every blob under the prefix ``url``, as paths relative to it (``seed/x.csv``), sorted."""
    config = load_config()
    fs = filesystem(config)
    root = blob_path(url).rstrip("/")
    with errors(url, "listing", config):
        fs.invalidate_cache(root)
        if not fs.exists(root):
            return []
        found = fs.find(root)
    return sorted(path[len(root) + 1 :] for path in found if path.startswith(root + "/"))


_LEASE_HELD = ("LeaseAlreadyPresent", "LeaseIdMismatchWithLeaseOperation")


@contextmanager
def lease(url: str, duration_s: int = 60) -> Iterator[None]:
    """Hold a blob lease on ``url`` (created if needed) for the block, renewed in the background.

    A second holder fails at once with a UserError; a killed holder's lease expires after
    ``duration_s`` seconds, so a crash never locks the folder for good.
    """
    import threading

    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import BlobClient

    config = load_config()
    container, blob = split_url(url)
    ensure_container(filesystem(config), container, config)
    client = BlobClient.from_connection_string(
        config.connection_string(), container, blob, retry_total=RETRIES, connection_timeout=CONNECT_TIMEOUT_S
    )
    with errors(url, "locking", config):
        if not client.exists():
            with suppress(HttpResponseError):
                client.upload_blob(b"", overwrite=False)
        try:
            held = client.acquire_lease(lease_duration=duration_s)
        except HttpResponseError as error:
            if getattr(error, "error_code", "") in _LEASE_HELD:
                folder = url.rsplit("/", 1)[0]
                raise UserError(f"another build is writing to {folder} (its lock is held)") from None
            raise
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(duration_s / 3):
            with suppress(Exception):
                held.renew()

    thread = threading.Thread(target=renew, name="lease-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        with suppress(Exception):
            held.release()
