"""One run folder for every command that writes a run (``daekit train``/``demo``, ``daekit sda``,
``daekit score train``).

A :class:`RunFolder` owns the layout of the folder — ``config.json`` (the typed configuration,
written atomically), ``metrics.jsonl`` (one line per epoch per phase, rewritten atomically from the
checkpointed history, so each epoch appears exactly once even after ``kill -9`` and a resume),
``checkpoints/``, ``model/``, figures and ``result.json`` — and a lock: a second process that opens
a folder in use is refused at once with the holder's pid; a lock left by a dead process is taken
over. The lock is an advisory ``flock`` on ``run.lock``, which the kernel drops when its holder
dies, so a stale lock can never block a run.

The one resume rule (:func:`check_resume`): the requested configuration must equal the saved one
except for the fields its config dataclass declares resumable (``RESUMABLE``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..utils.atomic import atomic_write_bytes, write_json

__all__ = ["RunFolder", "RunFolderInUseError", "check_resume", "config_differences"]

logger = logging.getLogger(__name__)

LOCK_NAME = "run.lock"
#: Entries whose presence means the folder already holds a run.
RUN_ENTRIES = ("metrics.jsonl", "checkpoints", "result.json")


class RunFolderInUseError(ValueError):
    """Another live process holds the run folder's lock."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def config_differences(
    saved: Mapping[str, Any],
    requested: Mapping[str, Any],
    resumable: Collection[str] = (),
    defaults: Mapping[str, Any] | None = None,
) -> list[str]:
    """``"name: saved X, requested Y"`` for every key (outside ``resumable``) whose values differ.

    A key missing from ``saved`` (a setting added since the run was started) counts as its value in
    ``defaults``.
    """
    defaults = defaults or {}
    missing = object()
    out = []
    for key in sorted(set(saved) | set(requested)):
        if key in resumable:
            continue
        old = saved.get(key, defaults.get(key, missing))
        new = requested.get(key, missing)
        if _normalise(old) != _normalise(new):
            show = lambda v: "(absent)" if v is missing else repr(v)
            out.append(f"{key}: saved {show(old)}, requested {show(new)}")
    return out


def _normalise(value: Any) -> Any:
    """JSON round trip, so a tuple equals the list it was saved as."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return value


def check_resume(
    saved: Mapping[str, Any],
    requested: Mapping[str, Any],
    resumable: Collection[str] = (),
    defaults: Mapping[str, Any] | None = None,
    where: str | os.PathLike = "config.json",
) -> None:
    """The one resume rule: raise a one-line ValueError listing each field (outside ``resumable``)
    where ``requested`` differs from ``saved``."""
    diffs = config_differences(saved, requested, resumable, defaults)
    if diffs:
        raise ValueError(
            f"resume: the requested configuration differs from the one saved in {where} "
            f"(only {', '.join(sorted(resumable)) or 'nothing'} may change): " + "; ".join(diffs)
        )


class RunFolder:
    """The folder of one run; a context manager holding the folder's lock while open.

    ``RunFolder(path)`` only names the folder; :meth:`open` (or ``with RunFolder(path) as run``)
    creates it and takes the lock, refusing with :class:`RunFolderInUseError` (a ValueError) when a
    live process holds it. Only the process that writes (rank 0 under torchrun) opens the folder.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    # ---- layout
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def model_path(self) -> Path:
        return self.path / "model"

    @property
    def result_path(self) -> Path:
        return self.path / "result.json"

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_NAME

    def figure(self, name: str) -> Path:
        """Path of the figure ``name`` (e.g. ``"filters.png"``) in the folder."""
        return self.path / name

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # ---- lock
    @property
    def is_open(self) -> bool:
        return self._lock_fd is not None

    def open(self) -> RunFolder:
        """Create the folder if needed and take its lock (see the class docstring)."""
        import fcntl

        if self._lock_fd is not None:
            return self
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"out: {self.path} exists and is not a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as e:
            raise ValueError(f"out: cannot create the run folder {self.path}: {e}") from None
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read_pid(fd)
            os.close(fd)
            raise RunFolderInUseError(
                f"run folder {self.path} is in use by process {holder if holder is not None else '(unknown pid)'} "
                f"(lock {self.lock_path}); wait for it to finish or choose another folder"
            ) from None
        stale = self._read_pid(fd)
        if stale is not None and stale != os.getpid():
            state = "dead" if not _pid_alive(stale) else "no longer holding it"
            logger.warning("%s: taking over the stale lock of process %d (%s)", self.path, stale, state)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._lock_fd = fd
        return self

    @staticmethod
    def _read_pid(fd: int) -> int | None:
        text = os.pread(fd, 64, 0).decode(errors="replace").strip()
        return int(text) if text.isdigit() else None

    def close(self) -> None:
        """Release the lock (the empty lock file stays; an empty one is held by nobody)."""
        import fcntl

        if self._lock_fd is None:
            return
        fd, self._lock_fd = self._lock_fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> RunFolder:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_open(self) -> None:
        if self._lock_fd is None:
            raise RuntimeError(f"{self!r} is not open; use `with RunFolder(path) as run:` before writing")

    # ---- contents
    def holds_run(self) -> list[str]:
        """The entries of :data:`RUN_ENTRIES` present (a non-empty list: the folder holds a run)."""
        return [name for name in RUN_ENTRIES if (self.path / name).exists()]

    def saved_config(self) -> dict[str, Any] | None:
        """The saved ``config.json``, or None when there is none."""
        if not self.config_path.is_file():
            return None
        try:
            saved = json.loads(self.config_path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{self.config_path} is not valid JSON ({e})") from None
        if not isinstance(saved, dict):
            raise ValueError(f"{self.config_path} must hold a JSON object")
        return saved

    def start(
        self,
        config: Mapping[str, Any],
        *,
        resume: bool = False,
        resumable: Collection[str] = (),
        defaults: Mapping[str, Any] | None = None,
        overwrite: bool = False,
    ) -> None:
        """Begin (or, with ``resume``, continue) the run whose resolved configuration is ``config``.

        A fresh start in a folder that already holds a run is refused unless ``overwrite`` (which
        deletes the old run's metrics, checkpoints and result); a resume applies
        :func:`check_resume` against the saved config. Then ``config.json`` is written atomically.
        """
        self._require_open()
        saved = self.saved_config()
        if resume:
            if saved is not None:
                check_resume(saved, config, resumable, defaults, where=self.config_path)
        else:
            previous = self.holds_run()
            if previous and not overwrite:
                raise ValueError(
                    f"out: {self.path} already holds a run ({', '.join(previous)}); "
                    "resume it, overwrite it or choose another folder"
                )
            for name in previous:
                import shutil

                target = self.path / name
                shutil.rmtree(target) if target.is_dir() else target.unlink()
        write_json(self.config_path, dict(config))

    def write_result(self, result: Mapping[str, Any]) -> None:
        """Write ``result.json`` atomically."""
        self._require_open()
        write_json(self.result_path, dict(result))

    def metrics(self, phase: str | None = None) -> list[dict[str, Any]]:
        """The records of ``metrics.jsonl`` (of ``phase`` only when given)."""
        if not self.metrics_path.is_file():
            return []
        records = [json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()]
        return [r for r in records if phase is None or r.get("phase") == phase]

    def write_metrics(self, phase: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Replace the lines of ``phase`` in ``metrics.jsonl`` by ``records`` (atomically), keeping
        the other phases' lines; called after each checkpoint with the checkpointed history, so the
        file matches the checkpoints whatever happened to the process."""
        self._require_open()
        others = [json.dumps(r, sort_keys=True) for r in self.metrics() if r.get("phase") != phase]
        lines = others + [json.dumps(dict(r), sort_keys=True) for r in records]
        atomic_write_bytes(self.metrics_path, ("\n".join(lines) + "\n").encode())
