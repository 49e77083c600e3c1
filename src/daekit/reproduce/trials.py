"""One grid point: its cache key, its cache, and how grid points compare."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import classification_error
from ..utils.atomic import write_json

logger = logging.getLogger("daekit.reproduce")


def log(verbose: int, *parts: Any) -> None:
    """Log ``parts`` (joined by spaces) at level INFO when ``verbose``."""
    if verbose:
        logger.info(" ".join(str(p) for p in parts))


def trial_key(params: dict[str, Any]) -> str:
    return "-".join(f"{k}{v:g}" if isinstance(v, float) else f"{k}{v}" for k, v in params.items())


def point_key(params: dict[str, Any], resource: float = 1.0) -> str:
    """The cache key of a grid point: its parameters, and the fraction of the budget it was
    trained with when below 1 (successive halving's early rungs)."""
    return trial_key(params) + ("" if resource == 1.0 else f"-r{resource:.6g}")


class TrialCache:
    """Finished grid points of one unfinished cell, in ``OUT/cells/NAME/MODEL.trials/``.

    A grid point is reused only if it was computed with the same settings and on the same data
    (the SHA-256 of the generated data set; records written before the hash was stored carry none
    and are matched on settings alone)."""

    def __init__(self, folder: Path | None, settings: dict[str, Any], data_sha256: str | None = None) -> None:
        self.folder, self.settings, self.data_sha256 = folder, settings, data_sha256

    def get(self, key: str) -> dict[str, Any] | None:
        if self.folder is None or not (self.folder / f"{key}.json").is_file():
            return None
        try:
            record = json.loads((self.folder / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        if record.get("settings") != self.settings:
            return None
        stored = record.get("data_sha256")
        return record if stored is None or stored == self.data_sha256 else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_json(
                self.folder / f"{key}.json", {**record, "settings": self.settings, "data_sha256": self.data_sha256}
            )


def errors(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    error, half = classification_error(y, pred)
    return float(error), float(half)


def selection_key(record: dict[str, Any]) -> tuple[float, float]:
    """Grid points compare by validation error; ties (common with 200 validation examples) go
    to the lower validation cross-entropy (records from before it was kept: first in grid order;
    diverged ones: last)."""
    loss = record.get("valid_loss", 0.0)
    return record["valid_error"], math.inf if loss is None else loss
