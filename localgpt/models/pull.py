"""Download a GGUF from the Hugging Face hub: the one place localgpt uses the network.

The transfer is done here with `requests`, not with `hf_hub_download`, so that every behaviour
the user relies on is explicit: the file lands in models_dir under its own name (not in the hub
cache), a `.part` file is resumed with an HTTP Range request, the sha256 is checked before the
atomic rename, and both the connect and the read have short time limits, so an offline machine
fails in seconds instead of hanging. huggingface_hub still builds the URL and finds the token.
The hub is `$HF_ENDPOINT` (default https://huggingface.co), which lets a mirror or a test server
stand in for it. The offline switches the CLI sets (HF_HUB_OFFLINE...) govern the libraries, not
this explicit request, which is why they need no lifting here.

Exit codes: 11 (NETWORK) when the hub can't be reached or the transfer breaks off (the `.part`
is kept: run the same command again to resume); 5 (MODEL) when the hub has no such file, or what
arrived is not the model (sha256 mismatch, wrong size, not a GGUF: the `.part` is deleted);
10 (STORAGE) when models_dir can't be written or is too full; 9 (BUSY) when another pull of the
same file is running.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlparse

from localgpt.errors import BusyError, ModelError, NetworkError, StorageError

if TYPE_CHECKING:
    import requests

    from localgpt.models.catalogue import PullSpec

DEFAULT_ENDPOINT = "https://huggingface.co"
CONNECT_TIMEOUT_S = 4.0
# Seconds without a single byte before the transfer counts as broken (the hub's CDN is never
# this quiet on a working link).
READ_TIMEOUT_S = 30.0
CHUNK = 1 << 20
DISK_MARGIN = 64 << 20

Progress = Callable[[int, int | None], None]  # (bytes on disk, total bytes or None)


@dataclass(frozen=True)
class PullResult:
    path: Path
    size: int
    sha256: str | None
    verified: bool  # the sha256 was checked against a known value
    resumed_from: int = 0
    already_present: bool = False
    url: str = ""


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def file_url(spec: PullSpec, endpoint: str | None = None) -> str:
    """`{endpoint}/{repo}/resolve/{revision}/{file}`, as huggingface_hub spells it."""
    from huggingface_hub import hf_hub_url

    return hf_hub_url(spec.repo, spec.file, revision=spec.revision, endpoint=endpoint or hub_endpoint())


def part_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def pull(
    spec: PullSpec, models_dir: Path, force: bool = False, progress: Progress | None = None
) -> PullResult:
    """Download `spec` into models_dir; see the module docstring for the failure contract."""
    target = models_dir / spec.local_name
    url = file_url(spec)
    if target.exists() and not force:
        return PullResult(target, target.stat().st_size, None, False, already_present=True, url=url)
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create models_dir {models_dir}: {exc.strerror}") from None
    part = part_path(target)
    if force:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    _check_host(url)
    try:
        fh = part.open("ab")
    except OSError as exc:
        raise StorageError(f"cannot write {part}: {exc.strerror}") from None
    try:
        with fh, _lock(part):
            digest, size, resumed = _transfer(spec, url, fh, part, progress)
    except BaseException:
        # Keep a partial download to resume, but not the empty file a refused request leaves.
        with contextlib.suppress(OSError):
            if part.stat().st_size == 0:
                part.unlink()
        raise
    try:
        _verify(spec, part, digest, size)
    except ModelError:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise
    os.replace(part, target)
    return PullResult(target, size, digest, spec.sha256 is not None, resumed, url=url)


@contextlib.contextmanager
def _lock(part: Path) -> Iterator[None]:
    """One writer per `.part`: a second pull of the same file would interleave its bytes."""
    from filelock import FileLock, Timeout

    path = part.with_name(part.name + ".lock")
    lock = FileLock(path, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BusyError(f"another `localgpt models pull` is writing {part}; wait for it to finish") from None
    try:
        yield
    finally:
        lock.release()
        with contextlib.suppress(OSError):
            path.unlink()


def _check_host(url: str) -> None:
    """Resolve the host within the connect time limit.

    `requests`' connect timeout does not cover name resolution, and on a machine with a dead
    resolver getaddrinfo can block for 30 s or more. It runs in a daemon thread so that giving up
    on it does not keep the process alive.
    """
    host = urlparse(url).hostname or ""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return
    outcome: list[BaseException | None] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, None)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=resolve, daemon=True, name="localgpt-resolve")
    worker.start()
    worker.join(CONNECT_TIMEOUT_S)
    if not outcome:
        raise NetworkError(
            f"cannot reach {host}: name resolution timed out after {CONNECT_TIMEOUT_S:.0f} s "
            "(offline?); `models pull` is the one command that needs the network"
        )
    if outcome[0] is not None:
        raise NetworkError(
            f"cannot reach {host}: the name does not resolve ({outcome[0]}); are you offline? "
            "`models pull` is the one command that needs the network (set HF_ENDPOINT for a mirror)"
        )


def _headers(offset: int) -> dict[str, str]:
    from importlib.metadata import version

    headers = {"User-Agent": f"localgpt/{version('localgpt')}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    token = _token()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _token() -> str | None:
    """HF_TOKEN or the token `huggingface-cli login` saved: needed for gated repos only."""
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:
        return os.environ.get("HF_TOKEN") or None


def _hash_existing(part: Path) -> tuple[Any, int]:
    """The sha256 of what a `.part` already holds (to resume on), and its size."""
    with part.open("rb") as fh:
        hasher = hashlib.file_digest(fh, "sha256")
        return hasher, fh.tell()


def _transfer(
    spec: PullSpec, url: str, fh: IO[bytes], part: Path, progress: Progress | None
) -> tuple[str, int, int]:
    """Fill `part` to the end; return (sha256, size, bytes that were resumed from)."""
    hasher, offset = _hash_existing(part)
    resumed = offset
    response = _get(url, offset)
    with response:
        if offset and response.status_code == 416:
            total = _range_total(response.headers.get("Content-Range", ""))
            if total == offset:  # the .part was already whole; only the rename was missing
                return hasher.hexdigest(), offset, resumed
        if (offset and response.status_code in (200, 416)) or not _range_matches(response, offset):
            # The server ignored or refused the Range: start over from the first byte.
            response.close()
            fh.truncate(0)
            fh.seek(0)
            hasher, offset, resumed = hashlib.sha256(), 0, 0
            response = _get(url, 0)
        return _stream(spec, url, response, fh, part, hasher, offset, resumed, progress)


def _get(url: str, offset: int) -> requests.Response:
    import requests

    try:
        response = requests.get(
            url,
            headers=_headers(offset),
            stream=True,
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
            allow_redirects=True,
        )
    except requests.exceptions.ReadTimeout:
        raise NetworkError(
            f"{_host(url)} accepted the connection but sent nothing for {READ_TIMEOUT_S:g} s; "
            "try again later, or set HF_ENDPOINT to a mirror"
        ) from None
    except requests.exceptions.ConnectTimeout:
        raise NetworkError(
            f"cannot reach {_host(url)}: no answer within {CONNECT_TIMEOUT_S:.0f} s (offline, or a "
            "firewall?); `models pull` is the one command that needs the network"
        ) from None
    except requests.exceptions.RequestException as exc:
        raise NetworkError(
            f"cannot reach {_host(url)} ({_reason(exc)}); are you offline? "
            "`models pull` is the one command that needs the network (set HF_ENDPOINT for a mirror)"
        ) from None
    status = response.status_code
    if status in (200, 206) or (offset and status == 416):
        return response
    response.close()
    if status == 404:
        raise ModelError(f"the hub has no such file: {url} (HTTP 404); check the repo, file and revision")
    if status in (401, 403):
        raise NetworkError(
            f"the hub refused {url} (HTTP {status}): the repo may be gated or private; accept its "
            "licence on the hub and set HF_TOKEN (or run `huggingface-cli login`)"
        )
    raise NetworkError(f"the hub answered HTTP {status} for {url}; try again later")


def _range_matches(response: requests.Response, offset: int) -> bool:
    if response.status_code != 206:
        return offset == 0
    content_range = response.headers.get("Content-Range", "")
    start = content_range.removeprefix("bytes ").split("-", 1)[0]
    return start.isdigit() and int(start) == offset


def _range_total(content_range: str) -> int | None:
    total = content_range.rsplit("/", 1)[-1]
    return int(total) if total.isdigit() else None


def _stream(
    spec: PullSpec,
    url: str,
    response: requests.Response,
    fh: IO[bytes],
    part: Path,
    hasher: Any,
    offset: int,
    resumed: int,
    progress: Progress | None,
) -> tuple[str, int, int]:
    import requests

    with response:
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        if response.status_code == 206:
            total = _range_total(response.headers.get("Content-Range", "")) or total
        if total is not None and spec.size is not None and total != spec.size:
            part.unlink(missing_ok=True)
            raise ModelError(
                f"{url} is {total} bytes but the catalogue expects {spec.size}: "
                "the file on the hub has changed; nothing was kept"
            )
        _check_space(part.parent, (total or 0) - offset)
        done = offset
        if progress:
            progress(done, total)
        try:
            for block in response.iter_content(CHUNK):
                fh.write(block)
                hasher.update(block)
                done += len(block)
                if progress:
                    progress(done, total)
        except (requests.exceptions.RequestException, OSError) as exc:
            fh.flush()
            # requests' errors are OSErrors too: only a bare OSError is the disk's.
            network = isinstance(exc, requests.exceptions.RequestException | ConnectionError | TimeoutError)
            if not network:
                raise StorageError(f"cannot write {part}: {exc.strerror or exc}") from None
            raise NetworkError(_interrupted(part, done, total, _reason(exc))) from None
        fh.flush()
        os.fsync(fh.fileno())
    if total is not None and done != total:
        raise NetworkError(_interrupted(part, done, total, "the connection closed early"))
    return hasher.hexdigest(), done, resumed


def _interrupted(part: Path, done: int, total: int | None, why: str) -> str:
    of = f" of {total}" if total else ""
    return (
        f"download interrupted at {done}{of} bytes ({why}); the partial file {part} is kept: "
        "run the same command again to resume"
    )


def _check_space(folder: Path, needed: int) -> None:
    if needed <= 0:
        return
    free = shutil.disk_usage(folder).free
    if free < needed + DISK_MARGIN:
        raise StorageError(
            f"not enough disk space in {folder}: {needed / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free"
        )


def _verify(spec: PullSpec, part: Path, digest: str, size: int) -> None:
    """The bytes must be the model: the known sha256, the known size, a whole GGUF."""
    if spec.sha256 is not None and digest != spec.sha256:
        raise ModelError(
            f"sha256 mismatch for {spec.repo}/{spec.file}: expected {spec.sha256}, got {digest}; "
            "the download was corrupted or the file on the hub changed, and it was deleted"
        )
    if spec.size is not None and size != spec.size:
        raise ModelError(f"{spec.file} is {size} bytes, expected {spec.size}; it was deleted")
    from localgpt.models.gguf import read_gguf

    read_gguf(part)  # GGUFError is a ModelError: a HTML page or a cut file is not kept


def _host(url: str) -> str:
    parsed = urlparse(url)
    return parsed.netloc or url


def _reason(exc: BaseException) -> str:
    """The innermost cause, in one line (requests nests urllib3's errors three deep)."""
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
