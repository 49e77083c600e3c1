"""The committed paper-budget cells of ``daekit reproduce vincent2010`` read back: for every
dataset and model, the test error, the validation error of the selected grid point, their gap,
and the training seconds of the cell.

*seconds* is one kind of time throughout: the ``seconds`` field of each cell file, the sum over the
cell's grid points of each point's training time (a one-thread process, wall clock around the
point's training), plus the SVM refit for SVMrbf. It is not the elapsed time of the cell, which
also holds evaluation and, for a cell computed over several resumed runs, is not recorded whole.

For SVMrbf the validation error is the grid's (fit on at most ``svm_grid_max_train`` examples)
while the test error is the refit's (train + valid), so its gap is not comparable with the
networks'. Reads JSON only; prints two Markdown tables.

    python benchmarks/paper_cells.py
    python benchmarks/paper_cells.py --cells benchmarks/results/vincent2010_paper/cells
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = [
    "mnist",
    "mnist-basic",
    "mnist-rot",
    "mnist-back-rand",
    "mnist-back-image",
    "mnist-rot-back-image",
    "rectangles",
    "rectangles-images",
    "convex",
]
MODELS = ["SVMrbf", "SAA-3", "DBN-3", "SdA-3"]
DIGIT_ROWS = ["mnist", "mnist-basic", "mnist-rot", "mnist-back-rand"]


def selected_valid_error(cell: dict) -> float:
    """The validation error of the cell's selected grid point."""
    if "valid_error" in cell:
        return float(cell["valid_error"])
    for trial in cell["trials"]:
        if trial["params"] == cell["selected"]:
            return float(trial["valid_error"])
    raise ValueError(f"cell {cell['dataset']}/{cell['model']}: no trial matches the selected point")


def read_cells(folder: Path) -> dict[str, dict[str, dict]]:
    """``{dataset: {model: cell}}`` for every ``DATASET/MODEL.json`` under ``folder``."""
    if not folder.is_dir():
        raise ValueError(f"cells: {folder} is not a folder")
    cells: dict[str, dict[str, dict]] = {}
    for path in sorted(folder.glob("*/*.json")):
        cell = json.loads(path.read_text())
        cells.setdefault(cell["dataset"], {})[cell["model"]] = cell
    return cells


def rows(cells: dict[str, dict[str, dict]]) -> list[dict]:
    out = []
    for dataset in sorted(cells, key=lambda d: ORDER.index(d) if d in ORDER else len(ORDER)):
        for model in MODELS:
            cell = cells[dataset].get(model)
            if cell is None:
                continue
            test, valid = 100 * cell["test_error"], 100 * selected_valid_error(cell)
            out.append(
                {
                    "dataset": dataset,
                    "label": cell["label"],
                    "model": model,
                    "test": test,
                    "valid": valid,
                    "gap": test - valid,
                    "seconds": float(cell["seconds"]),
                }
            )
    return out


def gap_table(table: list[dict]) -> str:
    lines = [
        "| Dataset | " + " | ".join(f"{m} valid → test (gap)" for m in MODELS) + " |",
        "|---|" + "---|" * len(MODELS),
    ]
    for dataset in dict.fromkeys(r["dataset"] for r in table):
        by_model = {r["model"]: r for r in table if r["dataset"] == dataset}
        cells = [
            f"{r['valid']:.2f} → {r['test']:.2f} ({r['gap']:+.2f})" if (r := by_model.get(m)) else "—" for m in MODELS
        ]
        lines.append(f"| {next(iter(by_model.values()))['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seconds_table(table: list[dict]) -> str:
    lines = ["| Dataset | " + " | ".join(MODELS) + " | row |", "|---|" + "---|" * (len(MODELS) + 1)]
    for dataset in dict.fromkeys(r["dataset"] for r in table):
        by_model = {r["model"]: r for r in table if r["dataset"] == dataset}
        total = sum(r["seconds"] for r in by_model.values())
        cells = [f"{by_model[m]['seconds']:.0f}" if m in by_model else "—" for m in MODELS]
        lines.append(f"| {next(iter(by_model.values()))['label']} | " + " | ".join(cells) + f" | {total:.0f} |")
    lines.append(f"| all rows | | | | | {sum(r['seconds'] for r in table):.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cells",
        default=str(ROOT / "benchmarks" / "results" / "vincent2010_paper" / "cells"),
        help="the folder of DATASET/MODEL.json cell files",
    )
    args = parser.parse_args(argv)
    table = rows(read_cells(Path(args.cells)))
    print("Validation error of the selected grid point → test error (%), and the gap\n")
    print(gap_table(table))
    digits = [r["gap"] for r in table if r["dataset"] in DIGIT_ROWS]
    if digits:
        print(
            f"\ndigit rows ({', '.join(d for d in DIGIT_ROWS if d in {r['dataset'] for r in table})}): "
            f"gaps {min(digits):+.2f} to {max(digits):+.2f} points"
        )
    print("\nTraining seconds per cell (sum over its grid points, plus the SVM refit)\n")
    print(seconds_table(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
