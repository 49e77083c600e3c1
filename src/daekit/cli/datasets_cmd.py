"""``daekit datasets``: generate (``make``) and list (``list``) the Larochelle et al. (2007) benchmark sets."""

from __future__ import annotations

import argparse
import time

from . import CLIError


def _sizes(text: str) -> tuple[int, int, int]:
    try:
        sizes = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected TRAIN,VALID,TEST (three integers), got {text!r}") from None
    if len(sizes) != 3 or min(sizes) < 0:
        raise argparse.ArgumentTypeError(f"expected TRAIN,VALID,TEST (three non-negative integers), got {text!r}")
    return sizes


def _fmt_sizes(sizes) -> str:
    return " / ".join(f"{s:,}" for s in sizes)


def run_make(args: argparse.Namespace) -> int:
    from ..datasets.photos import PhotoUnavailableError
    from ..datasets.variants import list_variants, load_variant

    names = list_variants(include_mnist=False) if args.name == "all" else [args.name]
    for name in names:
        start = time.perf_counter()
        try:
            data = load_variant(
                name,
                root=args.root,
                random_state=args.seed,
                sizes=args.sizes,
                force=args.force,
                progress=not args.quiet,
            )
        except PhotoUnavailableError as exc:
            raise CLIError(str(exc)) from exc
        seconds = time.perf_counter() - start
        where = data.path if data.path is not None else "(not cached: plain MNIST)"
        print(
            f"{name}: {data.status} in {seconds:.1f} s, {_fmt_sizes(data.sizes)} examples, "
            f"sha256 {data.sha256[:16]}  {where}"
        )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..datasets.variants import VARIANTS, cache_path

    print(f"{'name':22s} {'train / valid / test':24s} {'classes':8s} cached  description")
    for name, spec in VARIANTS.items():
        if spec.generator is None:
            cached = "-"
        else:
            cached = "yes" if cache_path(name, args.seed, args.sizes, args.root).exists() else "no"
        sizes = args.sizes if (args.sizes and spec.generator is not None) else spec.sizes
        print(f"{name:22s} {_fmt_sizes(sizes):24s} {spec.n_classes:<8d} {cached:7s} {spec.description}")
    return 0


def add_parser(subparsers) -> None:
    from ..datasets.variants import list_variants

    p = subparsers.add_parser(
        "datasets",
        help="generate the Larochelle et al. (2007) benchmark sets",
        description="Regenerate (deterministically, from a seed) and cache the MNIST "
        "variations, rectangles and convex sets of Larochelle et al. (2007).",
    )
    sub = p.add_subparsers(dest="datasets_command", metavar="ACTION")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--root",
            default=None,
            help="data folder (default $DAEKIT_DATA or ~/.cache/daekit); "
            "MNIST is read from it, the cache goes to its variants/",
        )
        q.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
        q.add_argument(
            "--sizes",
            type=_sizes,
            default=None,
            metavar="TRAIN,VALID,TEST",
            help="split sizes (default: the benchmark's)",
        )

    make = sub.add_parser(
        "make",
        help="generate and cache one data set, or all",
        description="Generate a data set (or all of them) and cache it as .npz; "
        "a valid cached file is reused, a damaged one regenerated.",
    )
    make.add_argument(
        "name", choices=list_variants() + ["all"], metavar="NAME", help=f"one of {', '.join(list_variants())}, or all"
    )
    common(make)
    make.add_argument("--force", action="store_true", help="regenerate even if a valid cached file exists")
    make.add_argument("--quiet", action="store_true", help="no progress bar")
    make.set_defaults(func=run_make)

    lst = sub.add_parser("list", help="list the data sets and whether they are cached")
    common(lst)
    lst.set_defaults(func=run_list)

    def no_action(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=no_action)
