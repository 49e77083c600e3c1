"""Lock-free claims on grid points, so that no two workers or runs compute one point.

A claim is a file ``KEY.claim`` created with ``os.open(O_CREAT | O_EXCL)`` (atomic on a local
disk and on NFSv3+ / Lustre / GPFS), holding the claimant's host, pid and a random token. While
the point is computed a thread touches the file every ``heartbeat`` seconds. A claim is stale,
and may be taken over, when its process is gone (same host, pid no longer running: a killed
worker) or its file has not been touched for ``stale_after`` seconds (a dead claimant on another
host). Taking over renames the stale file away first, so of two processes that find it stale
only one wins.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

HEARTBEAT_SECONDS = 30.0
STALE_AFTER_SECONDS = 300.0


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def read_claim(path: Path) -> dict[str, Any] | None:
    """The claimant of ``path`` (``host``, ``pid``, ``token``, ``started``), or None if unclaimed."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:  # being written this instant: its mtime decides
        return {}


def is_stale(path: Path, info: dict[str, Any], stale_after: float = STALE_AFTER_SECONDS) -> bool:
    """Whether the claim ``info`` read from ``path`` belongs to a process that is gone."""
    if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
        if not _pid_running(info["pid"]):
            return True
    try:
        return time.time() - path.stat().st_mtime > stale_after
    except FileNotFoundError:
        return True


class Claim:
    """A held claim; :meth:`release` (or ``with``) removes it if it is still this one's."""

    def __init__(self, path: Path, token: str, heartbeat: float) -> None:
        self.path, self.token = path, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat,), daemon=True)
        self._thread.start()

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                os.utime(self.path)
            except OSError:
                return

    def release(self) -> None:
        self._stop.set()
        info = read_claim(self.path)
        if info is not None and info.get("token") == self.token:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def try_claim(
    path: str | os.PathLike, *, heartbeat: float = HEARTBEAT_SECONDS, stale_after: float = STALE_AFTER_SECONDS
) -> Claim | None:
    """Claim ``path`` for this process, taking over a stale claim; None if another live
    claimant holds it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    body = json.dumps(
        {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "token": token,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    ).encode()
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            info = read_claim(path)
            if info is None:
                continue  # released meanwhile: try again
            if not is_stale(path, info, stale_after):
                return None
            _remove_stale(path, info)
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        return Claim(path, token, heartbeat)
    return None


def _remove_stale(path: Path, info: dict[str, Any]) -> None:
    """Move the stale claim ``info`` out of the way; if what was moved is not that claim (a
    fresh one created meanwhile by another process), put it back."""
    moved = path.with_name(f"{path.name}.stale-{secrets.token_hex(4)}")
    try:
        os.rename(path, moved)
    except FileNotFoundError:
        return
    if read_claim(moved) != info and info:
        try:
            os.link(moved, path)  # restore it, unless yet another claim exists by now
        except FileExistsError:
            pass
    moved.unlink(missing_ok=True)
