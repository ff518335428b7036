"""Where uploaded files live: a directory, or an S3-compatible bucket that every machine reaches.

A directory (EVIDENCE_DIR, by default instance/evidence) suits one machine, or several that mount one
shared volume. With EVIDENCE_S3_BUCKET set, files go to that bucket through boto3 instead: AWS S3,
MinIO, Ceph, Garage or any other store speaking the S3 protocol (EVIDENCE_S3_ENDPOINT_URL). Either
way a file is saved, read, listed and deleted by name; the callers decide which names exist (a
database row holds each one) and who may read them.

A directory holds a marker file (MARKER) that says it is ThiĐua's store: a shared volume that is not
mounted leaves an empty directory any process can write in, and only the marker's absence tells the
two apart (web/views.py readyz checks it). The app writes the marker in a directory it creates
itself; a directory made beforehand (a mount point, a volume) gets it from the operator, once.

Each app builds its storage once, on first use, so that gunicorn's workers each make their own boto3
client after the fork and every request reuses it (a client is thread-safe and keeps its connections).
"""

import contextlib
import mimetypes
import os
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
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
# Keys per list_objects_v2 call: S3's own maximum.
LIST_PAGE_SIZE = 1000
# Starts with a dot, so NAME never matches it: it is neither listed nor served.
MARKER = ".thidua-evidence"
_EXTENSION_KEY = "evidence_storage"
_BUILDING = threading.Lock()


class StorageError(Exception):
    """The store failed or did not answer: whether the file is there is unknown, nothing was changed."""


@dataclass(frozen=True)
class StoredFile:
    name: str
    modified_at: datetime  # aware, UTC


class Storage(Protocol):
    def save(self, name: str, data: bytes) -> None: ...

    def read(self, name: str) -> bytes | None: ...

    def delete(self, name: str) -> None: ...

    def stored(self) -> Iterator[StoredFile]: ...


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
            self._make_root()
            with open(temporary, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())  # the row naming it commits next: the bytes must be on disk first
            os.replace(temporary, path)
        except OSError as error:
            with contextlib.suppress(OSError):  # the directory itself may be what failed
                temporary.unlink(missing_ok=True)
            raise StorageError(f"cannot write {path}: {error}") from error

    def _make_root(self) -> None:
        """Make a missing directory, marked as the store. One that exists is left as it is: an empty
        mount point must not be marked by the first upload that lands in it."""
        try:
            self.root.mkdir(parents=True)
        except FileExistsError:
            return
        (self.root / MARKER).touch()

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

    def stored(self) -> Iterator[StoredFile]:
        """Every file with a storage name (temporary files and the marker left out), as the directory yields them."""
        try:
            entries = os.scandir(self.root)
        except FileNotFoundError:
            return  # no directory yet: nothing was ever stored
        except OSError as error:
            raise StorageError(f"cannot list {self.root}: {error}") from error
        try:
            with entries:
                for entry in entries:
                    if not (NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)):
                        continue
                    try:
                        modified = entry.stat(follow_symlinks=False).st_mtime
                    except FileNotFoundError:
                        continue  # deleted since the directory was read
                    yield StoredFile(entry.name, datetime.fromtimestamp(modified, UTC))
        except OSError as error:
            raise StorageError(f"cannot list {self.root}: {error}") from error


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

    def stored(self) -> Iterator[StoredFile]:
        """Every object under the prefix with a storage name, fetched a page (LIST_PAGE_SIZE) at a time."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.prefix) :]
                    if NAME.fullmatch(name):
                        yield StoredFile(name, item["LastModified"])
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"cannot list s3://{self.bucket}/{self.prefix}: {error}") from error


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


def stored() -> Iterator[StoredFile]:
    """Every stored file with when it was written, fetched as it is consumed; raises StorageError when the
    store fails."""
    return evidence_storage().stored()
