"""Where file bytes live (attachments, rendered documents): a port, and its two adapters (a local folder; an
S3-compatible bucket).

Both are content-addressed by SHA-256, so a retried or repeated upload writes the same object again, harmlessly.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol


class BlobMissing(Exception):
    """The metadata names content the store does not hold (lost or deleted out of band)."""


class BlobStore(Protocol):
    """Stores and returns bytes by their SHA-256."""

    async def put(self, sha256: str, content: bytes, content_type: str) -> str:
        """Store `content` (whose hex digest is `sha256`); returns the key to read it back with."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes stored under `key`; raises BlobMissing when there are none."""
        ...


def _fanned_out(sha256: str) -> str:
    # Two levels of fan-out keep any one directory (or listing prefix) small.
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class LocalBlobStore:
    """A folder on the local file system (the embedded default)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise BlobMissing(key)
        return path

    def _write(self, key: str, content: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed into place, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc

    async def put(self, sha256: str, content: bytes, content_type: str) -> str:
        """Write the file once; an existing file with this digest already holds these bytes."""
        key = _fanned_out(sha256)
        await asyncio.to_thread(self._write, key, content)
        return key

    async def get(self, key: str) -> bytes:
        """Read the file back."""
        return await asyncio.to_thread(self._read, key)


class S3BlobStore:
    """An S3-compatible bucket (AWS S3, MinIO, ...) through boto3, whose blocking calls run in a thread."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def connect(
        cls,
        *,
        bucket: str,
        endpoint_url: str = "",
        region: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
        prefix: str = "",
    ) -> S3BlobStore:
        """Build the boto3 client; without explicit credentials boto3's own chain (env, role) applies."""
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(retries={"max_attempts": 4, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        return cls(client, bucket, prefix)

    async def put(self, sha256: str, content: bytes, content_type: str) -> str:
        """Upload the object; overwriting an object of the same digest rewrites the same bytes."""
        key = f"{self.prefix}{_fanned_out(sha256)}"
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=key, Body=content, ContentType=content_type
        )
        return key

    def _read(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise BlobMissing(key) from exc
            raise
        body: bytes = answer["Body"].read()
        return body

    async def get(self, key: str) -> bytes:
        """Download the object."""
        return await asyncio.to_thread(self._read, key)


def configured_store(
    directory: str,
    *,
    bucket: str = "",
    endpoint_url: str = "",
    region: str = "",
    prefix: str = "",
    access_key_id: str = "",
    secret_access_key: str = "",
) -> BlobStore:
    """An S3-compatible bucket when one is named, the local folder otherwise."""
    if bucket:
        return S3BlobStore.connect(
            bucket=bucket,
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            prefix=prefix,
        )
    return LocalBlobStore(directory)
