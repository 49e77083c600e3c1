"""``daekit sample`` and ``daekit evaluate-samples``: draw from a trained model, and measure the
draws with the Parzen-window protocol on MNIST.

RUN is a run folder holding ``model/`` (a DAE from ``daekit train``, or a score network) and,
optionally, ``config.json`` with the settings the samplers need: ``corruption`` (the DAE's, used
by the chain and, when Gaussian, as the noise level σ of its score (r(x) − x)/σ²), ``sigma``
(the noise level of a single-level score network) and ``sigmas`` (the levels of a
noise-conditional score network). Flags override them. The sampler is chosen by
:func:`daekit.sampling.sampler_for`, the metric by :func:`daekit.metrics.parzen_protocol` on
:func:`daekit.metrics.mnist_parzen_sets`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import torch

from ..sampling import INITS, METHODS
from ._args import positive_float, positive_int


def _load_run(run: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    from ..models.registry import load_model

    path = Path(run)
    if not path.is_dir():
        raise FileNotFoundError(f"run folder {run} does not exist")
    if not (path / "model").is_dir():
        raise FileNotFoundError(f"{run} holds no model/ folder (make one with 'daekit train --out {run}')")
    model = load_model(path / "model")
    config: dict[str, Any] = {}
    if (path / "config.json").is_file():
        try:
            config = json.loads((path / "config.json").read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path / 'config.json'} is not valid JSON ({exc})") from None
    return model, config


def _data_name(run_config: dict[str, Any]) -> str | None:
    return run_config.get("data_used") or run_config.get("data")


def _plan(args: argparse.Namespace, model: torch.nn.Module, run_config: dict[str, Any]):
    """The sampler of ``model`` for the flags, the run's saved settings filling the gaps."""
    from ..sampling import sampler_for
    from ..score import geometric_sigmas

    corruption = args.corruption or run_config.get("corruption")
    method = args.method
    if method == "chain" or (method == "auto" and hasattr(model, "distribution")):
        if not corruption:
            raise ValueError(f"{args.run}/config.json names no corruption; pass --corruption, e.g. saltpepper:0.3")
    sigmas: list[float] | None
    if args.sigma_max is not None or args.sigma_min is not None or args.levels is not None:
        sigmas = geometric_sigmas(args.sigma_max or 1.0, args.sigma_min or 0.01, args.levels or 10).tolist()
    else:
        sigmas = run_config.get("sigmas") or None
    sigma = args.sigma if args.sigma is not None else run_config.get("sigma")
    return sampler_for(
        model,
        method,
        corruption=corruption,
        steps=args.steps,
        sample=not args.no_draw,
        report_mean=args.report == "mean",
        sigma=sigma,
        step_size=args.step_size,
        sigmas=sigmas,
        eps=args.eps if args.eps is not None else 2e-5,
        final_denoise=args.final_denoise,
        progress=not args.quiet,
    )


def _clip_display(model: torch.nn.Module, run_config: dict[str, Any]) -> bool:
    recon = getattr(getattr(model, "config", None), "reconstruction", None)
    return recon == "bernoulli" or _data_name(run_config) in ("mnist", "digits")


def run_sample(args: argparse.Namespace) -> int:
    from ..sampling import n_features, starting_points
    from ..viz import plot_samples, write_animation

    out = Path(args.out)
    gif = Path(args.animate) if args.animate else None
    if gif is not None and gif.suffix.lower() != ".gif":
        raise ValueError(f"--animate must name a .gif file, got {args.animate!r}")
    model, run_config = _load_run(args.run)
    from ..models.edm import EDMDenoiser

    if isinstance(model, EDMDenoiser):
        return _run_denoiser_sample(args, out, gif)
    if args.method in ("ode", "stochastic"):
        raise ValueError(
            f"--method {args.method} needs a denoiser (daekit score train --model unet); "
            f"{args.run} holds a {type(model).__name__}"
        )
    if out.suffix == ".npy":
        raise ValueError("--out .npy is written for denoiser runs; use a .png here")
    plan = _plan(args, model, run_config)
    generator = torch.Generator().manual_seed(args.seed)
    x0 = starting_points(args.init, args.n, n_features(model), generator, data=_data_name(run_config))
    t0 = time.perf_counter()
    if gif is not None:
        traj = plan.draw(x0, generator, return_all=True, every=max(1, math.ceil(plan.total_steps / args.frames)))
        samples = traj[-1]
    else:
        samples = plan.draw(x0, generator)
    seconds = time.perf_counter() - t0
    clip = _clip_display(model, run_config)
    plot_samples(samples.detach().cpu().numpy(), out, clip, title=f"{args.n} samples: {plan.description}")
    print(f"{plan.description}: {args.n} samples in {seconds:.1f} s")
    print(f"wrote {out}")
    if gif is not None:
        write_animation(traj.detach().cpu().numpy(), gif, clip, plan.method)
        print(f"wrote {gif} ({traj.shape[0]} frames)")
    return 0


def _denoiser_options(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The sampler and its options for a denoiser run (:mod:`daekit.sampling.edm`) from the flags."""
    from ..score import geometric_sigmas

    method = "ode" if args.method == "auto" else args.method
    if method == "langevin":
        raise ValueError("a denoiser samples with --method ode, stochastic, annealed or chain")
    options: dict[str, Any] = {}
    if method in ("ode", "stochastic", "chain") and args.steps:
        options["n_steps"] = args.steps
    if method == "annealed":
        if args.sigma_max is not None or args.sigma_min is not None or args.levels is not None:
            options["sigmas"] = geometric_sigmas(
                args.sigma_max or 5.0, args.sigma_min or 0.01, args.levels or 10
            ).tolist()
        if args.steps:
            options["steps_per_level"] = args.steps
        if args.eps:
            options["eps"] = args.eps
    if method == "chain" and args.sigma:
        options["sigma"] = args.sigma
    return method, options


def _run_denoiser_sample(args: argparse.Namespace, out: Path, gif: Path | None) -> int:
    """``daekit sample`` for a denoiser: ``--out`` .npy (the samples) or .png (a grid)."""
    from ..runs.denoiser import sample_denoiser_run, save_samples
    from ..viz import plot_samples, write_animation

    method, options = _denoiser_options(args)
    if gif is not None:  # one batch, its trajectory kept
        traj, seconds = sample_denoiser_run(
            args.run,
            method,
            args.n,
            args.seed,
            batch_size=args.n,
            progress=not args.quiet,
            precision=args.precision,
            return_all=True,
            **options,
        )
        samples = traj[-1]
    else:
        samples, seconds = sample_denoiser_run(
            args.run, method, args.n, args.seed, progress=not args.quiet, precision=args.precision, **options
        )
    what = f"{method} sampler" + (f" ({', '.join(f'{k}={v}' for k, v in options.items())})" if options else "")
    x = samples.reshape(len(samples), -1).cpu().numpy()
    if out.suffix == ".npy":
        save_samples(out, samples)
    else:
        plot_samples(x[:400], out, True, title=f"{args.n} samples: {what}")
    print(f"{what}: {args.n} samples in {seconds:.1f} s ({1000 * seconds / args.n:.1f} s per 1,000)")
    print(f"wrote {out}")
    if gif is not None:
        frames = traj.reshape(traj.shape[0], traj.shape[1], -1).clamp(0, 1).cpu().numpy()
        frames = frames[:: max(1, math.ceil(len(frames) / args.frames))]
        write_animation(frames, gif, True, method)
        print(f"wrote {gif} ({len(frames)} frames)")
    return 0


def _evaluate_file(args: argparse.Namespace) -> int:
    """``daekit evaluate-samples FILE.npy``: every sample-quality metric, with standard errors."""
    from ..runs.denoiser import evaluate_sample_file

    r = evaluate_sample_file(args.run, n_ref=args.n_test, parzen=not args.no_parzen, reference=args.reference)
    print(
        f"{r['n_samples']} samples against {r['n_ref']} MNIST test images "
        f"(classifier test accuracy {r['classifier_test_accuracy']}):"
    )
    if "parzen" in r:
        print(f"  Parzen log-likelihood  {r['parzen']:.1f} ± {r['parzen_se']:.1f} nats (sigma {r['parzen_sigma']:.3g})")
    print(f"  Frechet distance       {r['frechet']:.2f} ± {r['frechet_se']:.2f}")
    print(f"  recognizable (p>=0.9)  {100 * r['recognizable']:.1f} ± {100 * r['recognizable_se']:.1f} %")
    print(
        f"  class shares           {' '.join(f'{100 * v:.1f}' for v in r['class_shares'])} % "
        f"(largest deviation from 10 %: {100 * r['max_class_deviation']:.1f} ± {100 * r['class_share_se']:.1f})"
    )
    print(f"  memorization ratio     {r['memorization']:.3f} ± {r['memorization_se']:.3f}")
    if "reference" in r:
        ref = r["reference"]
        print(
            f"  held-out data: Parzen {ref.get('parzen', float('nan')):.1f} ± {ref.get('parzen_se', float('nan')):.1f}, "
            f"Frechet floor {ref['frechet_floor']:.2f}, recognizable {100 * ref['recognizable']:.1f} %"
        )
    if args.json:
        print(json.dumps(r))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from ..datasets import DatasetError, DatasetNotFoundError
    from ..metrics import MNIST_FEATURES, mnist_parzen_sets, parzen_protocol
    from ..sampling import n_features, starting_points

    if args.run.endswith(".npy"):
        return _evaluate_file(args)
    if not args.parzen:
        raise ValueError("choose a metric: --parzen (the Parzen-window log-likelihood protocol on MNIST)")
    model, run_config = _load_run(args.run)
    plan = _plan(args, model, run_config)
    d = n_features(model)
    if d != MNIST_FEATURES:
        raise ValueError(
            f"the Parzen protocol is defined on MNIST ({MNIST_FEATURES} features); {args.run} holds a model of {d}"
        )
    try:
        valid, test = mnist_parzen_sets(args.n_test, verbose=not args.quiet)
    except (DatasetNotFoundError, DatasetError) as exc:
        raise FileNotFoundError(str(exc).splitlines()[0] + " (set DAEKIT_DATA to a folder holding mnist/)") from None
    generator = torch.Generator().manual_seed(args.seed)

    def start(n: int, gen: torch.Generator | None) -> torch.Tensor:
        return starting_points(args.init, n, d, gen, data=_data_name(run_config))

    t0 = time.perf_counter()
    samples, description = plan.collect(
        args.n_samples,
        start,
        generator,
        chains=args.chains,
        burn_in=args.burn_in,
        thin=args.thin,
        batch_size=args.batch_size,
    )
    sample_seconds = time.perf_counter() - t0
    result = parzen_protocol(samples, valid, test)
    protocol = (
        "the full protocol" if result.full_protocol else "NOT the full protocol (10,000 samples, 10,000 test images)"
    )
    print(f"{description} (from {args.init} starts)")
    print(
        f"Parzen log-likelihood: {result.mean:.1f} ± {result.std_error:.1f} nats  (sigma={result.sigma:.3g} chosen "
        f"on {result.n_valid} validation images; {result.n_samples} samples, {result.n_test} MNIST test images: "
        f"{protocol}; sampling {sample_seconds:.1f} s, Parzen {result.seconds:.1f} s)"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "method": plan.method,
                    "description": description,
                    "parzen_mean": result.mean,
                    "parzen_std_error": result.std_error,
                    "parzen_sigma": result.sigma,
                    "n_samples": result.n_samples,
                    "n_test": result.n_test,
                    "sample_seconds": sample_seconds,
                    "parzen_seconds": result.seconds,
                }
            )
        )
    return 0


def _add_sampler_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "run",
        help="run folder holding model/ (and config.json); for evaluate-samples also a "
        "samples .npy file (N, 784) or (N, 1, 28, 28) in [0, 1]",
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help="chain (DAE), langevin (any score), annealed (noise-conditional score net); "
        "auto picks by the model (default)",
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help="chain steps (default 100), Langevin steps (1000) or steps per level (100)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--init",
        choices=INITS,
        default="uniform",
        help="starting points: uniform on [0,1]^d (default), zeros, or random test examples",
    )
    g = p.add_argument_group("DAE chain")
    g.add_argument("--corruption", default=None, help="corruption of the chain (default: the run's)")
    g.add_argument("--no-draw", action="store_true", help="move by the reconstruction mean instead of a draw")
    g.add_argument(
        "--report",
        choices=["mean", "state"],
        default="mean",
        help="what a chain step yields: the reconstruction mean E[x | x~] (default, the pictures of "
        "Bengio et al.) or the chain's state (a draw)",
    )
    g = p.add_argument_group("Langevin")
    g.add_argument("--sigma", type=positive_float, default=None, help="noise level of the score (default: the run's)")
    g.add_argument("--step-size", type=positive_float, default=None, help="epsilon (default 0.2 sigma^2)")
    g = p.add_argument_group("annealed Langevin (Song & Ermon 2019 defaults)")
    g.add_argument("--sigma-max", type=positive_float, default=None, help="largest level (default 1, or the run's)")
    g.add_argument("--sigma-min", type=positive_float, default=None, help="smallest level (default 0.01)")
    g.add_argument("--levels", type=positive_int, default=None, help="number of geometric levels (default 10)")
    g.add_argument(
        "--eps", type=positive_float, default=None, help="epsilon (default 2e-5; a denoiser's annealed Langevin: 5e-5)"
    )
    g.add_argument("--final-denoise", action="store_true", help="end with x + sigma_L^2 s(x, sigma_L)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sample",
        help="draw samples from a trained model (DAE chain, Langevin, annealed)",
        description="Draw samples from the model of a run folder and save a grid (and a GIF of the chain's evolution).",
    )
    _add_sampler_flags(p)
    p.add_argument("--n", type=positive_int, default=100, help="number of samples (parallel chains)")
    p.add_argument(
        "--out",
        default="samples.png",
        help="PNG grid of the samples (default %(default)s); .npy writes the samples (denoiser runs)",
    )
    p.add_argument("--animate", metavar="GIF", default=None, help="also write a GIF of the chain's evolution")
    p.add_argument("--frames", type=positive_int, default=50, help="frames of the GIF (default %(default)s)")
    p.add_argument(
        "--precision",
        default="float32",
        choices=["float32", "bfloat16"],
        help="denoiser runs: the network under bfloat16 autocast, the sampler's updates in float32 (default %(default)s)",
    )
    p.set_defaults(func=run_sample)

    q = subparsers.add_parser(
        "evaluate-samples",
        help="Parzen log-likelihood of a model's samples on MNIST",
        description="Draw samples and run the Parzen-window protocol of Goodfellow et al. "
        "(2014): sigma chosen on 1000 validation images (training examples "
        "50,000+), mean log-likelihood of the MNIST test set ± standard error.",
    )
    _add_sampler_flags(q)
    q.add_argument("--parzen", action="store_true", help="the Parzen-window log-likelihood (required)")
    q.add_argument("--n-samples", type=positive_int, default=10000, help="samples (protocol: %(default)s)")
    q.add_argument("--n-test", type=positive_int, default=10000, help="test images (protocol: %(default)s)")
    q.add_argument(
        "--chains",
        type=positive_int,
        default=10000,
        help="parallel DAE chains (default %(default)s: one kept state per chain)",
    )
    q.add_argument(
        "--burn-in", type=int, default=50, help="chain steps before the first kept state (default %(default)s)"
    )
    q.add_argument("--thin", type=positive_int, default=1, help="chain steps between kept states")
    q.add_argument("--batch-size", type=positive_int, default=1000, help="Langevin runs drawn at once")
    q.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    q.add_argument("--no-parzen", action="store_true", help="samples file: skip the Parzen protocol")
    q.add_argument(
        "--reference",
        action="store_true",
        help="samples file: also the held-out rows (training images as samples; the Frechet floor)",
    )
    q.set_defaults(func=run_evaluate)
