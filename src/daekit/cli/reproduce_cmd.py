"""``daekit reproduce vincent2010``: the SVMrbf / SAA-3 / DBN-3 / SdA-3 comparison table of
Vincent et al. (2010), cell by cell into ``--out`` (see :mod:`daekit.reproduce`)."""

from __future__ import annotations

import argparse

from ._args import positive_int


def run(args: argparse.Namespace) -> int:
    from ..datasets import DatasetError, DatasetNotFoundError
    from ..reproduce import assemble_table, get_budget, reproduce_vincent2010
    from . import CLIError

    if args.table_only:
        md, png = assemble_table(args.out)
        print(f"wrote {md}\nwrote {png}")
        return 0
    budget = get_budget(args.budget)
    changes = {k: getattr(args, k) for k in ("max_train", "max_test") if getattr(args, k) is not None}
    if changes:
        budget = budget.replace(**changes)
    try:
        result = reproduce_vincent2010(
            args.datasets,
            budget,
            args.out,
            models=args.models,
            force=args.force,
            threads=args.threads,
            device=args.device,
            verbose=0 if args.quiet else 1,
            workers=default_workers() if args.workers is None else args.workers,
            scheduler=args.scheduler,
            search=args.search,
            halving_factor=args.halving_factor,
        )
    except (DatasetNotFoundError, DatasetError) as exc:  # their messages span several lines
        raise CLIError(" ".join(line.strip() for line in str(exc).splitlines())) from None
    points = result["points"]
    print(
        f"computed {len(result['computed'])} cells, reused {len(result['cached'])} cached cells"
        + (f", {len(result['failed'])} failed" if result["failed"] else "")
        + f"; grid points: {len(points['computed'])} computed, {len(points['cached'])} cached"
        + (f", {len(points['failed'])} failed" if points["failed"] else "")
        + f"; {result['cpu_seconds']:.1f} s of training in {result['wall_seconds']:.1f} s"
    )
    for name, seconds in result["seconds"].items():
        print(f"  {name}: {seconds:.1f}s of training")
    for name, row in result["errors"].items():
        for model, failure in row.items():
            print(f"  {name} {model} FAILED: {failure['error']}")
    print(f"wrote {result['table_md']}\nwrote {result['table_png']}")
    return 1 if result["failed"] else 0


def default_workers() -> int:
    """The number of cores with Dask installed (``daekit[distributed]``), else 1."""
    import os

    from ..reproduce.executors import _distributed

    return (os.cpu_count() or 1) if _distributed() is not None else 1


def add_parser(subparsers) -> None:
    from ..reproduce import BUDGETS, MODELS, PAPER

    p = subparsers.add_parser(
        "reproduce",
        help="reproduce a paper's results table (vincent2010: SVMrbf, SAA-3, DBN-3, SdA-3)",
        description="Reproduce Vincent et al. (2010) Table 3: for each data set and model, hyperparameters chosen "
        "on the validation set, then the test error with its 95% interval. Each (data set, model) "
        "cell is cached in OUT/cells/NAME/MODEL.json and never recomputed without --force; "
        "OUT/table.md and OUT/table.png are assembled from all cells in OUT.",
    )
    p.add_argument("paper", choices=[PAPER], help="the table to reproduce")
    p.add_argument(
        "--datasets",
        default="all",
        help="'all' or comma-separated names: mnist, mnist-basic, mnist-rot, mnist-back-rand, "
        "mnist-back-image, mnist-rot-back-image, rectangles, rectangles-images, convex "
        "(or the paper's basic, rot, bg-rand, bg-img, bg-img-rot, rect, rect-img)",
    )
    p.add_argument(
        "--budget",
        default="small",
        choices=list(BUDGETS),
        help="small: minutes per data set (train subsampled to 2000, small grids); "
        "paper: full training sets and larger grids (hours per data set)",
    )
    p.add_argument(
        "--models", default="all", help=f"'all' or comma-separated: {', '.join(MODELS)} (or svm, saa, dbn, sda)"
    )
    p.add_argument("--out", default="results", help="results folder (default results/)")
    p.add_argument("--force", action="store_true", help="recompute the chosen cells even if they are finished")
    p.add_argument(
        "--max-train",
        type=positive_int,
        default=None,
        metavar="N",
        help="override the budget's cap on training examples",
    )
    p.add_argument(
        "--max-test",
        type=positive_int,
        default=None,
        metavar="N",
        help="evaluate on a random subset of N test examples (default: the whole test set)",
    )
    p.add_argument(
        "--threads", type=positive_int, default=1, help="torch and BLAS CPU threads of each grid task (default 1)"
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="run the grid on a local Dask cluster of N single-threaded worker processes (default: the "
        "number of cores with the daekit[distributed] extra installed, else 1); 1 runs in process",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the grid on a running Dask cluster (e.g. tcp://HOST:8786; OUT and the data folder "
        "must be on storage every worker sees)",
    )
    p.add_argument(
        "--search",
        default="grid",
        choices=["grid", "halving"],
        help="grid: every grid point at the full budget; halving: successive halving over each "
        "cell's grid (a fraction of the budget for all points, the best 1/F for F times as much...)",
    )
    p.add_argument(
        "--halving-factor",
        type=positive_int,
        default=3,
        metavar="F",
        help="successive halving's reduction factor (default 3, as scikit-learn's)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (networks only)")
    p.add_argument("--table-only", action="store_true", help="only assemble table.md / table.png from OUT's cells")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)
