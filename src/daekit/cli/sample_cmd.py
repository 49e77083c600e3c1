"""``daekit sample`` and ``daekit evaluate-samples``: draw from a trained model, and measure the
draws with the Parzen-window protocol on MNIST.

RUN is a run folder holding ``model/`` (a DAE from ``daekit train``, or a score network) and,
optionally, ``config.json`` with the settings the samplers need: ``corruption`` (the DAE's, used
by the chain and, when Gaussian, as the noise level σ of its score (r(x) − x)/σ²), ``sigma``
(the noise level of a single-level score network) and ``sigmas`` (the levels of a
noise-conditional score network). Flags override them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ._args import positive_float, positive_int

METHODS = ("auto", "chain", "langevin", "annealed", "ode", "stochastic")


@dataclass
class _Plan:
    """A resolved sampler: ``draw(x0, generator, return_all, every)`` and what it is."""

    method: str
    description: str
    total_steps: int
    draw: Callable[..., torch.Tensor]


def _load_run(run: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    from .. import edm, score_networks, unet  # noqa: F401  (registers the score networks and denoisers)
    from ..checkpoint import load_model

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


def _n_features(model: torch.nn.Module) -> int:
    cfg = model.config
    return int(getattr(cfg, "n_visible", None) or getattr(cfg, "n_features"))


def _gaussian_sigma(corruption: Any) -> float | None:
    from ..corruption import Gaussian

    return corruption.sigma if isinstance(corruption, Gaussian) else None


def _resolve(args: argparse.Namespace, model: torch.nn.Module, run_config: dict[str, Any]) -> _Plan:
    """Check the flags against the model and build the sampler (raises ValueError on a mismatch)."""
    from ..corruption import make_corruption
    from ..models import DAE
    from ..sampling import annealed_langevin, dae_chain, langevin
    from ..score import geometric_sigmas, reconstruction_score
    from ..score_networks import NoiseConditionalScoreNet, ScoreNet

    kind = type(model).__name__
    method = args.method
    if method == "auto":
        method = {"DAE": "chain", "NoiseConditionalScoreNet": "annealed", "ScoreNet": "langevin"}.get(kind)
        if method is None:
            raise ValueError(f"no sampler for a {kind} model; choose --method")
    corruption_spec = args.corruption or run_config.get("corruption")

    if method == "chain":
        if not hasattr(model, "distribution"):
            raise ValueError(f"--method chain needs a DAE (a model with a reconstruction distribution); {args.run} holds a {kind}")
        if not corruption_spec:
            raise ValueError(f"{args.run}/config.json names no corruption; pass --corruption, e.g. saltpepper:0.3")
        corruption = make_corruption(corruption_spec)
        steps = args.steps or 100
        sample = not args.no_draw

        def draw(x0, generator, return_all=False, every=1):
            return dae_chain(model, corruption, x0, steps, sample, generator, return_all,
                             return_mean=args.report == "mean",
                             every=every, progress=not args.quiet)

        what = "draws" if sample else "means"
        return _Plan("chain", f"DAE chain, {steps} steps, corruption {corruption.spec}, moving by {what}, "
                     f"reporting {'E[x | x~]' if args.report == 'mean' else 'the state'}", steps, draw)

    if method == "langevin":
        sigma = args.sigma
        if isinstance(model, DAE):
            if sigma is None and corruption_spec:
                sigma = _gaussian_sigma(make_corruption(corruption_spec))
            if sigma is None:
                raise ValueError(f"Langevin with a DAE uses its score (r(x) - x)/sigma^2, which needs Gaussian training "
                                 f"noise; the corruption is {corruption_spec!r}: pass --sigma to use it anyway")
            score_fn = lambda x, s=sigma: reconstruction_score(model, x, s)  # noqa: E731
        elif isinstance(model, NoiseConditionalScoreNet):
            if sigma is None:
                sigma = float(min(run_config["sigmas"])) if run_config.get("sigmas") else 0.01
            score_fn = model.at(sigma)
        elif isinstance(model, ScoreNet):
            score_fn = model
            if sigma is None:
                sigma = run_config.get("sigma")
            if sigma is None and args.step_size is None:
                raise ValueError(f"{args.run}/config.json gives no noise level 'sigma' of the score network: "
                                 "pass --sigma or --step-size")
        else:
            raise ValueError(f"--method langevin needs a DAE or a score network; {args.run} holds a {kind}")
        step = args.step_size or 0.2 * float(sigma) ** 2
        steps = args.steps or 1000

        def draw(x0, generator, return_all=False, every=1):
            return langevin(score_fn, x0, step, steps, generator, return_all=return_all, every=every,
                            progress=not args.quiet)

        return _Plan("langevin", f"Langevin, {steps} steps of size {step:.3g}"
                     + (f" on the score at sigma={float(sigma):g}" if sigma is not None else ""), steps, draw)

    # annealed
    if not isinstance(model, NoiseConditionalScoreNet):
        raise ValueError(f"--method annealed needs a noise-conditional score model (NoiseConditionalScoreNet); "
                         f"{args.run} holds a {kind}: use --method chain or langevin")
    if args.sigma_max is not None or args.sigma_min is not None or args.levels is not None:
        sigmas = geometric_sigmas(args.sigma_max or 1.0, args.sigma_min or 0.01, args.levels or 10).tolist()
    elif run_config.get("sigmas"):
        sigmas = [float(s) for s in run_config["sigmas"]]
    else:
        sigmas = geometric_sigmas(1.0, 0.01, 10).tolist()
    eps = args.eps or 2e-5
    steps = args.steps or 100
    total = len(sigmas) * steps + (1 if args.final_denoise else 0)

    def draw(x0, generator, return_all=False, every=1):
        return annealed_langevin(model, sigmas, x0, eps, steps, generator, final_denoise=args.final_denoise,
                                 return_all=return_all, every=every, progress=not args.quiet)

    return _Plan("annealed", f"annealed Langevin, {len(sigmas)} levels {sigmas[0]:g}..{sigmas[-1]:g}, "
                 f"{steps} steps per level, eps={eps:g}" + (", final denoising step" if args.final_denoise else ""),
                 total, draw)


def _initial(args: argparse.Namespace, n: int, d: int, run_config: dict[str, Any], generator: torch.Generator) -> torch.Tensor:
    if args.init == "uniform":
        return torch.rand(n, d, generator=generator)
    if args.init == "zeros":
        return torch.zeros(n, d)
    from ..datasets.sources import load_dataset

    split = load_dataset(run_config.get("data_used") or run_config.get("data") or "auto")
    pool = split.x_test if split.x_test is not None else split.x_train
    pool = np.asarray(pool, dtype=np.float32)
    if pool.shape[1] != d:
        raise ValueError(f"--init data: the run's data has {pool.shape[1]} features but the model has {d}")
    idx = torch.randint(0, len(pool), (n,), generator=generator)
    return torch.as_tensor(pool[idx.numpy()])


def _show(ax, x: np.ndarray, clip: bool) -> None:
    from ..viz import image_shape, tile_images

    if x.shape[1] == 2:
        ax.scatter(x[:, 0], x[:, 1], s=4, alpha=0.6)
        ax.set_aspect("equal")
        return
    shape = image_shape(x.shape[1])
    if clip:
        ax.imshow(tile_images(np.clip(x, 0, 1), shape, scale_each=False), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
    else:
        ax.imshow(tile_images(x, shape), cmap="gray", interpolation="nearest")
    ax.set_axis_off()


def _clip_display(model: torch.nn.Module, run_config: dict[str, Any]) -> bool:
    recon = getattr(getattr(model, "config", None), "reconstruction", None)
    return recon == "bernoulli" or (run_config.get("data_used") or run_config.get("data")) in ("mnist", "digits")


def _write_gif(frames: np.ndarray, path: Path, clip: bool, title: str) -> None:
    """Animate ``frames`` (T, N, d) with matplotlib's PillowWriter, atomically."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, ax = plt.subplots(figsize=(4, 4))
    lo, hi = np.percentile(frames[-1], [0.5, 99.5], axis=0) if frames.shape[2] == 2 else (None, None)

    def update(i):
        ax.clear()
        _show(ax, frames[i], clip)
        if lo is not None:
            pad = 0.2 * (hi - lo) + 1e-3
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_title(f"{title}: frame {i + 1}/{len(frames)}", fontsize=8)
        return ()

    anim = FuncAnimation(fig, update, frames=len(frames), blit=False)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(6)}{path.suffix}")  # Pillow picks GIF from the suffix
    try:
        anim.save(str(tmp), writer=PillowWriter(fps=10))
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()


def run_sample(args: argparse.Namespace) -> int:
    import matplotlib.pyplot as plt

    from ..viz import save_figure

    out = Path(args.out)
    gif = Path(args.animate) if args.animate else None
    if gif is not None and gif.suffix.lower() != ".gif":
        raise ValueError(f"--animate must name a .gif file, got {args.animate!r}")
    model, run_config = _load_run(args.run)
    from ..edm import EDMDenoiser

    if isinstance(model, EDMDenoiser):
        return _run_denoiser_sample(args, out, gif)
    if args.method in ("ode", "stochastic"):
        raise ValueError(f"--method {args.method} needs a denoiser (daekit score train --model unet); "
                         f"{args.run} holds a {type(model).__name__}")
    if out.suffix == ".npy":
        raise ValueError("--out .npy is written for denoiser runs; use a .png here")
    plan = _resolve(args, model, run_config)
    d = _n_features(model)
    generator = torch.Generator().manual_seed(args.seed)
    x0 = _initial(args, args.n, d, run_config, generator)
    t0 = time.perf_counter()
    if gif is not None:
        every = max(1, math.ceil(plan.total_steps / args.frames))
        traj = plan.draw(x0, generator, return_all=True, every=every)
        samples = traj[-1]
    else:
        samples = plan.draw(x0, generator)
    seconds = time.perf_counter() - t0
    clip = _clip_display(model, run_config)
    x = samples.detach().cpu().numpy()
    fig, ax = plt.subplots(figsize=(6, 6))
    _show(ax, x, clip)
    ax.set_title(f"{args.n} samples: {plan.description}", fontsize=7)
    save_figure(fig, out)
    print(f"{plan.description}: {args.n} samples in {seconds:.1f} s")
    print(f"wrote {out}")
    if gif is not None:
        gif.parent.mkdir(parents=True, exist_ok=True)
        _write_gif(traj.detach().cpu().numpy(), gif, clip, plan.method)
        print(f"wrote {gif} ({traj.shape[0]} frames)")
    return 0


def _denoiser_options(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The sampler and its options for a denoiser run (:mod:`daekit.edm_sampling`) from the flags."""
    from ..score import geometric_sigmas

    method = "ode" if args.method == "auto" else args.method
    if method == "langevin":
        raise ValueError("a denoiser samples with --method ode, stochastic, annealed or chain")
    options: dict[str, Any] = {}
    if method in ("ode", "stochastic", "chain") and args.steps:
        options["n_steps"] = args.steps
    if method == "annealed":
        if args.sigma_max is not None or args.sigma_min is not None or args.levels is not None:
            options["sigmas"] = geometric_sigmas(args.sigma_max or 5.0, args.sigma_min or 0.01, args.levels or 10).tolist()
        if args.steps:
            options["steps_per_level"] = args.steps
        if args.eps:
            options["eps"] = args.eps
    if method == "chain" and args.sigma:
        options["sigma"] = args.sigma
    return method, options


def _run_denoiser_sample(args: argparse.Namespace, out: Path, gif: Path | None) -> int:
    """``daekit sample`` for a denoiser: ``--out`` .npy (the samples) or .png (a grid)."""
    import matplotlib.pyplot as plt

    from ..edm_training import sample_denoiser_run, save_samples
    from ..viz import save_figure

    method, options = _denoiser_options(args)
    if gif is not None:  # one batch, its trajectory kept
        traj, seconds = sample_denoiser_run(args.run, method, args.n, args.seed, batch_size=args.n,
                                            progress=not args.quiet, return_all=True, **options)
        samples = traj[-1]
    else:
        samples, seconds = sample_denoiser_run(args.run, method, args.n, args.seed, progress=not args.quiet, **options)
    what = f"{method} sampler" + (f" ({', '.join(f'{k}={v}' for k, v in options.items())})" if options else "")
    x = samples.reshape(len(samples), -1).cpu().numpy()
    if out.suffix == ".npy":
        save_samples(out, samples)
    else:
        fig, ax = plt.subplots(figsize=(6, 6))
        _show(ax, x[:400], clip=True)
        ax.set_title(f"{args.n} samples: {what}", fontsize=7)
        save_figure(fig, out)
    print(f"{what}: {args.n} samples in {seconds:.1f} s ({1000 * seconds / args.n:.1f} s per 1,000)")
    print(f"wrote {out}")
    if gif is not None:
        frames = traj.reshape(traj.shape[0], traj.shape[1], -1).clamp(0, 1).cpu().numpy()
        frames = frames[::max(1, math.ceil(len(frames) / args.frames))]
        gif.parent.mkdir(parents=True, exist_ok=True)
        _write_gif(frames, gif, True, method)
        print(f"wrote {gif} ({len(frames)} frames)")
    return 0


def _evaluate_file(args: argparse.Namespace) -> int:
    """``daekit evaluate-samples FILE.npy``: every sample-quality metric, with standard errors."""
    from ..edm_training import evaluate_sample_file

    r = evaluate_sample_file(args.run, n_ref=args.n_test, parzen=not args.no_parzen, reference=args.reference)
    print(f"{r['n_samples']} samples against {r['n_ref']} MNIST test images "
          f"(classifier test accuracy {r['classifier_test_accuracy']}):")
    if "parzen" in r:
        print(f"  Parzen log-likelihood  {r['parzen']:.1f} ± {r['parzen_se']:.1f} nats (sigma {r['parzen_sigma']:.3g})")
    print(f"  Frechet distance       {r['frechet']:.2f} ± {r['frechet_se']:.2f}")
    print(f"  recognizable (p>=0.9)  {100 * r['recognizable']:.1f} ± {100 * r['recognizable_se']:.1f} %")
    print(f"  class shares           {' '.join(f'{100 * v:.1f}' for v in r['class_shares'])} % "
          f"(largest deviation from 10 %: {100 * r['max_class_deviation']:.1f} ± {100 * r['class_share_se']:.1f})")
    print(f"  memorization ratio     {r['memorization']:.3f} ± {r['memorization_se']:.3f}")
    if "reference" in r:
        ref = r["reference"]
        print(f"  held-out data: Parzen {ref.get('parzen', float('nan')):.1f} ± {ref.get('parzen_se', float('nan')):.1f}, "
              f"Frechet floor {ref['frechet_floor']:.2f}, recognizable {100 * ref['recognizable']:.1f} %")
    if args.json:
        print(json.dumps(r))
    return 0


def _draw_many(args: argparse.Namespace, plan: _Plan, model, d: int, run_config: dict[str, Any],
               generator: torch.Generator) -> tuple[torch.Tensor, str]:
    """``--n-samples`` draws and what they are: parallel chains with burn-in and thinning for the
    DAE chain, independent batches of ``--batch-size`` runs for the Langevin samplers."""
    from ..corruption import make_corruption
    from ..sampling import collect_chain_samples

    n = args.n_samples
    if plan.method == "chain":
        corruption = make_corruption(args.corruption or run_config.get("corruption"))
        chains = min(args.chains, n)
        x0 = _initial(args, chains, d, run_config, generator)
        samples = collect_chain_samples(model, corruption, x0, n, burn_in=args.burn_in, thin=args.thin,
                                        sample=not args.no_draw, generator=generator,
                                        return_mean=args.report == "mean", progress=not args.quiet)
        what = "E[x | x~] of the kept steps" if args.report == "mean" else "the kept states"
        return samples, (f"DAE chain, corruption {corruption.spec}: {chains} parallel chains from {args.init} "
                         f"starts, burn-in {args.burn_in}, one state every {args.thin} step(s); reporting {what}")
    parts = []
    for start in range(0, n, args.batch_size):
        x0 = _initial(args, min(args.batch_size, n - start), d, run_config, generator)
        parts.append(plan.draw(x0, generator))
    return torch.cat(parts), plan.description


def run_evaluate(args: argparse.Namespace) -> int:
    from ..datasets import DatasetError, DatasetNotFoundError, load_mnist
    from ..sample_metrics import parzen_log_likelihood, select_parzen_sigma

    if args.run.endswith(".npy"):
        return _evaluate_file(args)
    if not args.parzen:
        raise ValueError("choose a metric: --parzen (the Parzen-window log-likelihood protocol on MNIST)")
    model, run_config = _load_run(args.run)
    plan = _resolve(args, model, run_config)
    d = _n_features(model)
    if d != 784:
        raise ValueError(f"the Parzen protocol is defined on MNIST (784 features); {args.run} holds a model of {d}")
    try:
        x_train, _, x_test, _ = load_mnist(download=True, verbose=not args.quiet)
    except (DatasetNotFoundError, DatasetError) as exc:
        raise FileNotFoundError(str(exc).splitlines()[0] + " (set DAEKIT_DATA to a folder holding mnist/)") from None
    generator = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    samples, description = _draw_many(args, plan, model, d, run_config, generator)
    sample_seconds = time.perf_counter() - t0
    valid = x_train[50000:51000]
    test = x_test[:args.n_test]
    t1 = time.perf_counter()
    sigma = select_parzen_sigma(samples, valid)
    mean, se = parzen_log_likelihood(samples, test, sigma)
    parzen_seconds = time.perf_counter() - t1
    n = len(samples)
    protocol = "the full protocol" if n == 10000 and len(test) == 10000 else "NOT the full protocol (10,000 samples, 10,000 test images)"
    print(description)
    print(f"Parzen log-likelihood: {mean:.1f} ± {se:.1f} nats  (sigma={sigma:.3g} chosen on 1000 validation images; "
          f"{n} samples, {len(test)} MNIST test images: {protocol}; sampling {sample_seconds:.1f} s, "
          f"Parzen {parzen_seconds:.1f} s)")
    if args.json:
        print(json.dumps({"method": plan.method, "description": description, "parzen_mean": mean,
                          "parzen_std_error": se, "parzen_sigma": sigma, "n_samples": n, "n_test": len(test),
                          "sample_seconds": sample_seconds, "parzen_seconds": parzen_seconds}))
    return 0


def _add_sampler_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder holding model/ (and config.json); for evaluate-samples also a "
                               "samples .npy file (N, 784) or (N, 1, 28, 28) in [0, 1]")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="chain (DAE), langevin (any score), annealed (noise-conditional score net); "
                        "auto picks by the model (default)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="chain steps (default 100), Langevin steps (1000) or steps per level (100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", choices=["uniform", "zeros", "data"], default="uniform",
                   help="starting points: uniform on [0,1]^d (default), zeros, or random test examples")
    g = p.add_argument_group("DAE chain")
    g.add_argument("--corruption", default=None, help="corruption of the chain (default: the run's)")
    g.add_argument("--no-draw", action="store_true", help="move by the reconstruction mean instead of a draw")
    g.add_argument("--report", choices=["mean", "state"], default="mean",
                   help="what a chain step yields: the reconstruction mean E[x | x~] (default, the pictures of "
                        "Bengio et al.) or the chain's state (a draw)")
    g = p.add_argument_group("Langevin")
    g.add_argument("--sigma", type=positive_float, default=None, help="noise level of the score (default: the run's)")
    g.add_argument("--step-size", type=positive_float, default=None, help="epsilon (default 0.2 sigma^2)")
    g = p.add_argument_group("annealed Langevin (Song & Ermon 2019 defaults)")
    g.add_argument("--sigma-max", type=positive_float, default=None, help="largest level (default 1, or the run's)")
    g.add_argument("--sigma-min", type=positive_float, default=None, help="smallest level (default 0.01)")
    g.add_argument("--levels", type=positive_int, default=None, help="number of geometric levels (default 10)")
    g.add_argument("--eps", type=positive_float, default=None,
                   help="epsilon (default 2e-5; a denoiser's annealed Langevin: 5e-5)")
    g.add_argument("--final-denoise", action="store_true", help="end with x + sigma_L^2 s(x, sigma_L)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("sample", help="draw samples from a trained model (DAE chain, Langevin, annealed)",
                              description="Draw samples from the model of a run folder and save a grid (and a GIF "
                                          "of the chain's evolution).")
    _add_sampler_flags(p)
    p.add_argument("--n", type=positive_int, default=100, help="number of samples (parallel chains)")
    p.add_argument("--out", default="samples.png",
                   help="PNG grid of the samples (default %(default)s); .npy writes the samples (denoiser runs)")
    p.add_argument("--animate", metavar="GIF", default=None, help="also write a GIF of the chain's evolution")
    p.add_argument("--frames", type=positive_int, default=50, help="frames of the GIF (default %(default)s)")
    p.set_defaults(func=run_sample)

    q = subparsers.add_parser("evaluate-samples", help="Parzen log-likelihood of a model's samples on MNIST",
                              description="Draw samples and run the Parzen-window protocol of Goodfellow et al. "
                                          "(2014): sigma chosen on 1000 validation images (training examples "
                                          "50,000+), mean log-likelihood of the MNIST test set ± standard error.")
    _add_sampler_flags(q)
    q.add_argument("--parzen", action="store_true", help="the Parzen-window log-likelihood (required)")
    q.add_argument("--n-samples", type=positive_int, default=10000, help="samples (protocol: %(default)s)")
    q.add_argument("--n-test", type=positive_int, default=10000, help="test images (protocol: %(default)s)")
    q.add_argument("--chains", type=positive_int, default=10000,
                   help="parallel DAE chains (default %(default)s: one kept state per chain)")
    q.add_argument("--burn-in", type=int, default=50, help="chain steps before the first kept state (default %(default)s)")
    q.add_argument("--thin", type=positive_int, default=1, help="chain steps between kept states")
    q.add_argument("--batch-size", type=positive_int, default=1000, help="Langevin runs drawn at once")
    q.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    q.add_argument("--no-parzen", action="store_true", help="samples file: skip the Parzen protocol")
    q.add_argument("--reference", action="store_true",
                   help="samples file: also the held-out rows (training images as samples; the Frechet floor)")
    q.set_defaults(func=run_evaluate)
