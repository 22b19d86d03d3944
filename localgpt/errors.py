"""Every failure a user can cause, each with its exit code.

The exit codes are a contract for shell scripts: never renumber them.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    CONFIG = 2
    ABSTAINED = 3
    NO_INDEX = 4
    MODEL = 5
    INGEST_PARTIAL = 6
    INGEST_NOTHING = 7
    INDEX_MISMATCH = 8
    BUSY = 9
    STORAGE = 10
    NETWORK = 11
    SERVER = 12
    INTERRUPTED = 130


class LocalGPTError(Exception):
    """Base class: `str(err)` is the one line the CLI prints."""

    exit_code: ExitCode = ExitCode.INTERNAL


class ConfigError(LocalGPTError):
    exit_code = ExitCode.CONFIG


class UsageError(ConfigError):
    """A bad command line argument (same exit code as a bad config value)."""


class NoIndexError(LocalGPTError):
    exit_code = ExitCode.NO_INDEX


class ModelError(LocalGPTError):
    exit_code = ExitCode.MODEL


class IndexMismatchError(LocalGPTError):
    exit_code = ExitCode.INDEX_MISMATCH


class BusyError(LocalGPTError):
    exit_code = ExitCode.BUSY


class StorageError(LocalGPTError):
    exit_code = ExitCode.STORAGE


class CorruptIndexError(StorageError):
    """The index or the manifest is there but cannot be read: `ingest --rebuild` sets it aside.

    Kept apart from other storage errors so that a read-only or full disk is never "repaired" by
    moving a healthy index out of the way.
    """


class NetworkError(LocalGPTError):
    exit_code = ExitCode.NETWORK


class ServerError(LocalGPTError):
    """`localgpt serve` cannot listen: the port is taken or the address is not this machine's."""

    exit_code = ExitCode.SERVER


class LoaderError(Exception):
    """A single file could not be read; ingest skips it with this reason."""
