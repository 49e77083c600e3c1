"""``table.md`` and ``table.png``: the reproduced test errors beside the published ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import error_interval
from .budget import BUDGETS
from .cells import read_cells, read_failures
from .published import DATASET_LABELS, DATASETS, MODELS, PAPER_TEST_SIZES, PUBLISHED


def pct(p: float) -> str:
    return f"{100 * p:.2f}"


def _nu(noise: float | None) -> str:
    return "" if noise is None else f" ({100 * noise:.0f}%)"


def _published_cell(dataset: str, model: str) -> str:
    pub = PUBLISHED[dataset][model]
    half = error_interval(pub.error / 100.0, PAPER_TEST_SIZES[dataset])
    return f"{pub.error:.2f} ±{100 * half:.2f}{_nu(pub.noise)}"


def selected(cell: dict[str, Any]) -> str:
    s = cell["selected"]
    if cell["model"] == "SVMrbf":
        return f"C={s['C']:g}, γ={s['gamma']:.3g}"
    text = f"{s['width']}×{cell['settings']['grid']['n_layers']}, {s['pretrain_epochs']} ep"
    if "rbm_lr" in s:
        text += f", RBM lr={s['rbm_lr']:g}"
    text += f", ν={s['noise']:g}" if "noise" in s else ""
    return text + (f", fine-tune lr={s['finetune_lr']:g}" if "finetune_lr" in s else "")


def _ours(cell: dict[str, Any] | None, failure: dict[str, Any] | None, model: str) -> str:
    if cell is not None:
        return f"{pct(cell['test_error'])} ±{pct(cell['test_ci95'])}" + (
            _nu(cell.get("noise")) if model == "SdA-3" else ""
        )
    if failure is not None:
        return f"**failed** ({failure['n_failed']} of {failure['n_points']} points)"
    return "—"


def _markdown(
    cells: dict[str, dict[str, dict[str, Any]]], failures: dict[str, dict[str, dict[str, Any]]] | None = None
) -> str:
    failures = failures or {}
    budgets = sorted({c["budget"] for row in cells.values() for c in row.values()})
    lines = [
        "# Vincent et al. (2010), Table 3 — reproduced with daekit",
        "",
        "Test error (%) with 95% intervals (±1.96·√(p(1−p)/n)). *paper*: published (JMLR 2010 Table 3; "
        "convex: ICML 2008 Table 1; intervals from the papers' test sizes, 50 000 or 10 000 for MNIST). "
        "*ours*: this reproduction, hyperparameters chosen on the validation set. For SdA-3 the masking "
        "noise ν chosen on validation is in parentheses. — : not run yet. **failed**: some grid points "
        "raised (their errors: `cells/NAME/MODEL.failed.json`; a re-run retries them).",
        "",
        "| Dataset | SVMrbf paper | SVMrbf ours | SAA-3 paper | SAA-3 ours | DBN-3 paper | DBN-3 ours "
        "| SdA-3 paper (ν) | SdA-3 ours (ν) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset in DATASETS:
        if dataset not in cells and dataset not in failures:
            continue
        row = [DATASET_LABELS[dataset] + (" (full)" if dataset == "mnist" else "")]
        for model in MODELS:
            row.append(_published_cell(dataset, model))
            row.append(_ours(cells.get(dataset, {}).get(model), failures.get(dataset, {}).get(model), model))
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "## Selected hyperparameters and cost",
        "",
        "| Dataset | budget | train / valid / test | SVMrbf | SAA-3 | DBN-3 | SdA-3 | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for dataset in DATASETS:
        if dataset not in cells:
            continue
        row_cells = cells[dataset]
        first = next(iter(row_cells.values()))
        info = first["data"]
        sizes = f"{info['n_train']} / {info['n_valid']} / {info['n_test']}"
        seconds = sum(c["seconds"] for c in row_cells.values())
        row = [DATASET_LABELS[dataset], ", ".join(sorted({c["budget"] for c in row_cells.values()})), sizes]
        row += [selected(row_cells[m]) if m in row_cells else "—" for m in MODELS]
        row.append(f"{seconds:.0f}")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "*seconds*: training time of all grid points of the row's cells (and the SVM refit), "
        "on the machine that computed them.",
        "",
    ]
    for name in budgets:
        budget = BUDGETS.get(name)
        used = [c for row in cells.values() for c in row.values() if c["budget"] == name]
        if budget is not None and all(
            c["settings"]["grid"] == budget.model_settings(c["model"])
            and c["settings"]["data"]["max_train"] == budget.max_train
            for c in used
        ):
            lines.append("- " + budget.describe())
        else:
            lines.append(f"- budget **{name}** (customized): see `settings` in each cell's JSON.")
    return "\n".join(lines) + "\n"


def _plot(cells: dict[str, dict[str, dict[str, Any]]], path: Path) -> Path:
    from ..viz.paper import ComparisonPanel, plot_paper_comparison

    panels = []
    for dataset in (d for d in DATASETS if d in cells):
        pub = [PUBLISHED[dataset][m].error for m in MODELS]
        panels.append(
            ComparisonPanel(
                title=DATASET_LABELS[dataset] + (" (full)" if dataset == "mnist" else ""),
                labels=MODELS,
                paper=pub,
                paper_err=[100 * error_interval(p / 100, PAPER_TEST_SIZES[dataset]) for p in pub],
                ours=[100 * cells[dataset][m]["test_error"] if m in cells[dataset] else np.nan for m in MODELS],
                ours_err=[100 * cells[dataset][m]["test_ci95"] if m in cells[dataset] else 0.0 for m in MODELS],
            )
        )
    budgets = ", ".join(sorted({c["budget"] for row in cells.values() for c in row.values()})) or "none"
    return plot_paper_comparison(
        panels, path, f"Vincent et al. (2010) Table 3: paper vs daekit\n(budget: {budgets}; 95% intervals)"
    )


def assemble_table(out: str | os.PathLike, png: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Write ``OUT/table.md`` and ``OUT/table.png`` (or ``png``) from every finished cell in
    ``OUT/cells``, both atomically. Returns their paths."""
    from ..utils.atomic import atomic_write_bytes

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cells = read_cells(out)
    md = out / "table.md"
    atomic_write_bytes(md, _markdown(cells, read_failures(out)).encode())
    return md, _plot(cells, Path(png) if png is not None else out / "table.png")
