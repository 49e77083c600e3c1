"""``daekit viz``: figures from run folders and datasets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._args import positive_int


def first_layer_weights(run: Path):
    """The first-layer weights (n_hidden, n_visible) of the model in a run folder (or model folder)."""
    from ..models.registry import load_model

    folder = run / "model" if (run / "model" / "config.json").is_file() else run
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{run} holds no model (expected {run / 'model' / 'config.json'})")
    model: Any = load_model(folder)
    if hasattr(model, "W"):
        return model.W.detach().numpy()
    if hasattr(model, "hidden"):
        return model.hidden[0].weight.detach().numpy()
    raise ValueError(f"{folder}: a {type(model).__name__} has no first-layer filters to draw")


def run_filters(args: argparse.Namespace) -> int:
    from ..viz import plot_filters

    run = Path(args.run)
    out = Path(args.out) if args.out else run / "filters.png"
    plot_filters(first_layer_weights(run), out, n_filters=args.n, title=args.title)
    print(f"wrote {out}")
    return 0


def run_dataset(args: argparse.Namespace) -> int:
    from ..viz import plot_variant_grid

    out = Path(args.out or f"{args.name}.png")
    plot_variant_grid(args.name, out, random_state=args.seed)
    print(f"wrote {out}")
    return 0


def run_score_field(args: argparse.Namespace) -> int:
    import json

    from ..datasets.toy import make_toy
    from ..models.registry import load_model
    from ..runs.score import toy_extent as _extent
    from ..viz import plot_score_field

    run = Path(args.run)
    config_file = run / "config.json"
    if not config_file.is_file() or not (run / "model").is_dir():
        raise FileNotFoundError(f"{run} is not a 'daekit score train' run (config.json and model/ expected)")
    config = json.loads(config_file.read_text())
    sigma = args.sigma or config["sigma"]
    model: Any = load_model(run / "model").eval()
    score_fn = model.at(sigma) if hasattr(model, "at") else model
    density = make_toy(config["data"])
    smoothed = density.smoothed(sigma)
    out = Path(args.out) if args.out else run / "score_field.png"
    plot_score_field(
        score_fn,
        smoothed.score,
        smoothed.prob,
        out,
        extent=_extent(density),
        title=f"{config['data']}, σ = {sigma:g}, {config['objective']}",
        labels=("exact ∇ log q_σ", f"learned s_θ ({config['objective']})"),
    )
    print(f"wrote {out}")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("viz", help="draw figures: filters of a run, examples of a dataset")
    sub = p.add_subparsers(dest="figure", metavar="FIGURE", required=True)
    f = sub.add_parser("filters", help="tile the first-layer filters of a run (daekit train / daekit sda)")
    f.add_argument("run", help="run folder (holding model/) or model folder")
    f.add_argument("--out", help="PNG path (default RUN/filters.png)")
    f.add_argument("--n", type=positive_int, default=100, help="number of filters")
    f.add_argument("--title")
    f.set_defaults(func=run_filters)
    d = sub.add_parser("dataset", help="a grid of examples per class of a benchmark dataset")
    d.add_argument("name", help="e.g. mnist-rot, rectangles, convex (see 'daekit datasets list')")
    d.add_argument("--out", help="PNG path (default NAME.png)")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=run_dataset)
    s = sub.add_parser("score-field", help="learned vs exact score arrows of a 'daekit score train' run")
    s.add_argument("run", help="run folder of daekit score train")
    s.add_argument("--sigma", type=float, help="noise level (default: the run's)")
    s.add_argument("--out", help="PNG path (default RUN/score_field.png)")
    s.set_defaults(func=run_score_field)
