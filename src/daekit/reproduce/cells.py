"""A cell of the table (one data set, one model): run its grid, store it, read them back."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..utils.atomic import write_json
from .budget import Budget, get_budget
from .data import ReproData
from .networks import run_network
from .published import DATASET_LABELS, DATASETS, MODELS, PAPER, PUBLISHED, resolve_models
from .svm import run_svm
from .trials import TrialCache


def cell_path(out: str | os.PathLike, dataset: str, model: str) -> Path:
    """``OUT/cells/DATASET/MODEL.json``."""
    return Path(out) / "cells" / dataset / f"{model}.json"


def cell_settings(
    dataset: str,
    budget: Budget,
    model: str,
    sizes: Sequence[int] | None,
    random_state: int = 0,
    search: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The settings that determine a cell (stored in it, compared on reuse); ``search`` describes
    a search other than the full grid (:mod:`daekit.reproduce.halving`)."""
    settings = {
        "paper": PAPER,
        "dataset": dataset,
        "model": model,
        "budget": budget.name,
        "data": {
            **budget.data_settings(),
            "sizes": None if sizes is None else [int(s) for s in sizes],
            "random_state": int(random_state),
        },
        "grid": budget.model_settings(model),
    }
    if search is not None:
        settings["search"] = search
    return json.loads(json.dumps(settings))  # as it reads back from JSON


def run_cell(
    data: ReproData,
    model: str,
    budget: str | Budget = "small",
    *,
    out: str | os.PathLike | None = None,
    sizes: Sequence[int] | None = None,
    device: str = "auto",
    verbose: int = 1,
) -> dict[str, Any]:
    """Run the grid of ``model`` on ``data`` and return the cell (selection on validation, test
    error of the selected model). With ``out``, grid points are cached under
    ``OUT/cells/NAME/MODEL.trials/`` and the cell is written to :func:`cell_path` (atomically)."""
    budget = get_budget(budget)
    (model,) = resolve_models([model])
    settings = cell_settings(data.name, budget, model, sizes, data.info["random_state"])
    folder = cell_path(out, data.name, model).with_suffix(".trials") if out is not None else None
    cache = TrialCache(folder, settings, data.info.get("sha256"))
    t0 = time.perf_counter()
    if model == "SVMrbf":
        body = run_svm(data, budget, cache, verbose)
    else:
        body = run_network(model, data, budget, cache, device, verbose)
    return store_cell(out, make_cell(data, model, budget, settings, body, time.perf_counter() - t0))


def make_cell(
    data: ReproData, model: str, budget: Budget, settings: dict[str, Any], body: dict[str, Any], wall_seconds: float
) -> dict[str, Any]:
    """The cell record of ``model`` on ``data`` from the body its selection returned."""
    from .. import __version__

    published = PUBLISHED[data.name][model]
    return {
        **body,
        "dataset": data.name,
        "label": DATASET_LABELS[data.name],
        "model": model,
        "budget": budget.name,
        "settings": settings,
        "data": data.info,
        "published": {"error": published.error / 100.0, "noise": published.noise, "source": published.source},
        # this process's time for the cell (grid points restored from the trial cache count 0)
        "wall_seconds": wall_seconds,
        # training time of every grid point (and the SVM refit), whenever it ran
        "seconds": sum(t["seconds"] for t in body["trials"]) + body.get("refit", {}).get("seconds", 0.0),
        "daekit_version": __version__,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def failure_path(out: str | os.PathLike, dataset: str, model: str) -> Path:
    """``OUT/cells/DATASET/MODEL.failed.json``: the errors of a cell whose grid points failed."""
    return Path(out) / "cells" / dataset / f"{model}.failed.json"


def store_cell(out: str | os.PathLike | None, cell: dict[str, Any]) -> dict[str, Any]:
    """Write ``cell`` to :func:`cell_path` atomically (``out`` None: nothing), then remove its
    grid points' cache and any failure record; return it."""
    if out is not None:
        path = cell_path(out, cell["dataset"], cell["model"])
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, cell)
        failure_path(out, cell["dataset"], cell["model"]).unlink(missing_ok=True)
        folder = path.with_suffix(".trials")
        if folder.is_dir():  # the cell holds every grid point now
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
    return cell


def read_cells(out: str | os.PathLike) -> dict[str, dict[str, dict[str, Any]]]:
    """All finished cells under ``OUT/cells``: ``{dataset: {model: cell}}``."""
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    root = Path(out) / "cells"
    for dataset in DATASETS:
        for model in MODELS:
            path = cell_path(out, dataset, model)
            if root.is_dir() and path.is_file():
                cells.setdefault(dataset, {})[model] = json.loads(path.read_text())
    return cells


def read_failures(out: str | os.PathLike) -> dict[str, dict[str, dict[str, Any]]]:
    """The failure records (:func:`failure_path`) of cells not finished under ``OUT/cells``."""
    failures: dict[str, dict[str, dict[str, Any]]] = {}
    for dataset in DATASETS:
        for model in MODELS:
            path = failure_path(out, dataset, model)
            if path.is_file() and not cell_path(out, dataset, model).is_file():
                failures.setdefault(dataset, {})[model] = json.loads(path.read_text())
    return failures
