"""Where uploaded files live: a directory, or an S3-compatible bucket that every machine reaches.

A directory (EVIDENCE_DIR, by default instance/evidence) suits one machine, or several that mount one
shared volume. With EVIDENCE_S3_BUCKET set, files go to that bucket through boto3 instead: AWS S3,
MinIO, Ceph, Garage or any other store speaking the S3 protocol (EVIDENCE_S3_ENDPOINT_URL). Either
way a file is saved, read and deleted by name; the callers decide which names exist (a database row
holds each one) and who may read them.

Each app builds its storage once, on first use, so that gunicorn's workers each make their own boto3
client after the fork and every request reuses it (a client is thread-safe and keeps its connections).
"""

import contextlib
import mimetypes
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]
from flask import Flask, current_app

# Names the app makes (random URL-safe tokens with an extension): no slash, no leading dot, so a name
# can neither leave the directory nor collide with the temporary files written beside it.
NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}")
# An S3 error code that means "no such object" rather than "the store failed".
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
# A store that does not answer must not hold a member's request (and, on SQLite, the write lock) for
# the SDK's default minute: connect quickly, and retry throttling or a dropped connection twice.
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
_EXTENSION_KEY = "evidence_storage"
_BUILDING = threading.Lock()


class StorageError(Exception):
    """The store failed or did not answer: whether the file is there is unknown, nothing was changed."""


class Storage(Protocol):
    def save(self, name: str, data: bytes) -> None: ...

    def read(self, name: str) -> bytes | None: ...

    def delete(self, name: str) -> None: ...


def _checked(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"not a storage name: {name!r}")
    return name


@dataclass(frozen=True)
class DirectoryStorage:
    """Files in one directory: local disk, or a volume (NFS, CephFS, …) mounted by every machine."""

    root: Path

    def save(self, name: str, data: bytes) -> None:
        path = self.root / _checked(name)
        # Written beside the final name and renamed over it: a reader on another machine never sees
        # half a photo, and a crash leaves a stray temporary file rather than a truncated one.
        temporary = self.root / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(temporary, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())  # the row naming it commits next: the bytes must be on disk first
            os.replace(temporary, path)
        except OSError as error:
            with contextlib.suppress(OSError):  # the directory itself may be what failed
                temporary.unlink(missing_ok=True)
            raise StorageError(f"cannot write {path}: {error}") from error

    def read(self, name: str) -> bytes | None:
        path = self.root / _checked(name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StorageError(f"cannot read {path}: {error}") from error

    def delete(self, name: str) -> None:
        path = self.root / _checked(name)
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(f"cannot delete {path}: {error}") from error


@dataclass(frozen=True)
class S3Storage:
    """Objects in an S3-compatible bucket, under an optional key prefix."""

    client: Any
    bucket: str
    prefix: str = ""

    def _key(self, name: str) -> str:
        return self.prefix + _checked(name)

    def save(self, name: str, data: bytes) -> None:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"cannot write s3://{self.bucket}/{self._key(name)}: {error}") from error

    def read(self, name: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
            return answer["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING_CODES:
                return None
            raise StorageError(f"cannot read s3://{self.bucket}/{self._key(name)}: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"cannot read s3://{self.bucket}/{self._key(name)}: {error}") from error

    def delete(self, name: str) -> None:
        # Deleting an absent object succeeds in S3, as unlink(missing_ok=True) does here.
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"cannot delete s3://{self.bucket}/{self._key(name)}: {error}") from error


def evidence_directory(app: Flask) -> Path:
    """The directory of the directory backend: EVIDENCE_DIR, or instance/evidence."""
    return Path(app.config.get("EVIDENCE_DIR") or Path(app.instance_path) / "evidence")


def build_storage(app: Flask) -> Storage:
    """The backend the configuration asks for: the bucket when EVIDENCE_S3_BUCKET is set, else the directory."""
    bucket = app.config.get("EVIDENCE_S3_BUCKET")
    if not bucket:
        return DirectoryStorage(evidence_directory(app))
    # Credentials come the way boto3 finds them: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a
    # profile, or the machine's role. A session of our own: boto3's default one is not thread-safe.
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=app.config.get("EVIDENCE_S3_ENDPOINT_URL") or None,
        region_name=app.config.get("EVIDENCE_S3_REGION") or None,
        config=CLIENT_CONFIG,
    )
    return S3Storage(client, bucket, app.config.get("EVIDENCE_S3_PREFIX") or "")


def evidence_storage() -> Storage:
    """This app's evidence storage, built on first use and kept for the life of the process."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    storage = app.extensions.get(_EXTENSION_KEY)
    if storage is None:
        with _BUILDING:
            storage = app.extensions.get(_EXTENSION_KEY) or build_storage(app)
            app.extensions[_EXTENSION_KEY] = storage
    return storage


def save(name: str, data: bytes) -> None:
    """Store a file under a name of the app's making; raises StorageError when the store fails."""
    evidence_storage().save(name, data)


def read(name: str) -> bytes | None:
    """A stored file's bytes, None when there is no such file; raises StorageError when the store fails."""
    return evidence_storage().read(name)


def delete(name: str) -> None:
    """Remove a file (an absent one is no error); raises StorageError when the store fails."""
    evidence_storage().delete(name)
