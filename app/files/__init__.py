"""The bridge's file store, shared by `/v1/files`, batches, attachments and drawn images."""

from app.files.store import (
    BATCH_OUTPUT,
    GENERATED,
    UPLOAD_PURPOSES,
    FileStore,
    FileTooLargeError,
    StoredFile,
    UnknownFileError,
)

__all__ = [
    "BATCH_OUTPUT",
    "GENERATED",
    "UPLOAD_PURPOSES",
    "FileStore",
    "FileTooLargeError",
    "StoredFile",
    "UnknownFileError",
]
