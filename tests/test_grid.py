"""The reproduction grid as tasks: a Dask cluster gives the in-process results, survives a worker
that dies, records a raising point, computes nothing twice (re-runs, concurrent runs), and
successive halving selects on validation at a fraction of the cost."""

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import daekit.reproduce.executors as executors_module
import daekit.reproduce.networks as networks_module
from daekit.cli import main
from daekit.reproduce import BUDGETS, MODELS, cell_path, reproduce_vincent2010
from daekit.reproduce.claims import read_claim, try_claim
from daekit.reproduce.halving import halving_rungs

distributed = pytest.importorskip("distributed")

# every model in about a second; two widths so that a stack can fail alone
TINY = BUDGETS["small"].replace(
    name="tiny",
    widths=(8, 16),
    pretrain_epochs=(1,),
    noise_levels=(0.1, 0.4),
    finetune_epochs=3,
    patience=2,
    svm_C=(1.0, 10.0),
    svm_gamma=(1.0,),
)
SIZES = (200, 100, 300)
N_POINTS = sum(TINY.n_trials(m) for m in MODELS)


def _view(out):
    """What a run computed, without its timings and provenance: every cell's selection and
    errors, and every grid point's validation / test numbers."""
    view = {}
    for model in MODELS:
        cell = json.loads(cell_path(out, "rectangles", model).read_text())
        view[model] = (
            cell["selected"],
            cell["valid_error"],
            cell["test_error"],
            cell["test_ci95"],
            [
                (t["params"], t["valid_error"], t.get("valid_loss"), t.get("test_error"), t.get("best_epoch"))
                for t in cell["trials"]
            ],
        )
    return view


def _run(out, root, **kwargs):
    return reproduce_vincent2010("rectangles", TINY, out, root=root, sizes=SIZES, verbose=0, **kwargs)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, root):
    """The tiny grid run in process: the results every other layout must give."""
    out = tmp_path_factory.mktemp("in_process")
    result = _run(out, root)
    assert len(result["points"]["computed"]) == N_POINTS and not result["failed"]
    return out, _view(out)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, worker_dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_a_local_cluster_of_two_processes_gives_the_in_process_results(tmp_path, root, reference, client):
    result = _run(tmp_path, root, scheduler=client)
    assert sorted(result["computed"]) == sorted(["rectangles", m] for m in MODELS)
    assert len(result["points"]["computed"]) == N_POINTS
    assert _view(tmp_path) == reference[1]
    assert len({json.loads(cell_path(tmp_path, "rectangles", m).read_text())["data"]["sha256"] for m in MODELS}) == 1

    # a re-run of the finished grid computes nothing and rewrites no cell
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "cells").rglob("*.json")}
    again = _run(tmp_path, root, scheduler=client)
    assert again["computed"] == [] and len(again["cached"]) == 4 and again["points"]["computed"] == []
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cells").rglob("*.json")} == before


def test_a_worker_closed_mid_grid_has_its_points_rescheduled(tmp_path, root, reference, client):
    pids = client.run(os.getpid)  # worker address -> pid
    done: dict = {}
    runner = threading.Thread(target=lambda: done.update(_run(tmp_path, root, scheduler=client)))
    runner.start()
    killed = None
    deadline = time.monotonic() + 30
    while killed is None and runner.is_alive() and time.monotonic() < deadline:
        for claim in (tmp_path / "cells").rglob("*.claim") if (tmp_path / "cells").is_dir() else ():
            info = read_claim(claim) or {}
            victim = next((a for a, pid in pids.items() if pid == info.get("pid")), None)
            if victim is not None:  # the worker computing this point dies now
                try:
                    client.run(os._exit, 1, workers=[victim], wait=False)
                except Exception:
                    pass
                killed = info["pid"]
                break
        time.sleep(0.005)
    runner.join(120)
    assert killed is not None, "no claim by a worker was seen"
    assert not runner.is_alive() and not done["failed"]
    assert _view(tmp_path) == reference[1]
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it


def test_a_raising_point_is_reported_and_the_others_finish(tmp_path, root, reference, monkeypatch, capsys):
    original = networks_module._pretrained_network

    def failing(model, data, budget, config, rbm_lr):
        if model == "SdA-3" and config.hidden_layer_sizes[0] == 8:
            raise RuntimeError("out of memory (simulated)")
        return original(model, data, budget, config, rbm_lr)

    monkeypatch.setattr(networks_module, "_pretrained_network", failing)
    result = _run(tmp_path, root)
    assert result["failed"] == [["rectangles", "SdA-3"]]
    assert sorted(result["computed"]) == sorted(["rectangles", m] for m in MODELS if m != "SdA-3")
    assert sorted(k.rsplit("/", 1)[1] for k in result["points"]["failed"]) == [
        "width8-pretrain_epochs1-noise0.1-finetune_lr0.3",
        "width8-pretrain_epochs1-noise0.4-finetune_lr0.3",
    ]
    assert (
        "out of memory (simulated)"
        in result["errors"]["rectangles"]["SdA-3"]["errors"]["width8-pretrain_epochs1-noise0.1-finetune_lr0.3"]
    )
    row = next(line for line in (tmp_path / "table.md").read_text().splitlines() if line.startswith("| rect |"))
    assert "**failed** (2 of 4 points)" in row and row.count("failed") == 1
    assert not cell_path(tmp_path, "rectangles", "SdA-3").exists()

    # the re-run computes the failed points only and fills the cell
    monkeypatch.setattr(networks_module, "_pretrained_network", original)
    again = _run(tmp_path, root)
    assert again["computed"] == [["rectangles", "SdA-3"]] and not again["failed"]
    assert sorted(again["points"]["computed"]) == sorted(result["points"]["failed"])
    row = next(line for line in (tmp_path / "table.md").read_text().splitlines() if line.startswith("| rect |"))
    assert "failed" not in row and "—" not in row
    assert not (tmp_path / "cells" / "rectangles" / "SdA-3.failed.json").exists()
    assert _view(tmp_path) == reference[1]
    assert main(["reproduce", "vincent2010", "--table-only", "--out", str(tmp_path)]) == 0


def test_two_runs_on_one_results_folder_never_compute_a_point_twice(tmp_path, root, reference):
    out, go = tmp_path / "out", tmp_path / "go"
    results = [tmp_path / f"run{i}.json" for i in range(2)]
    runs = [
        subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("grid_run_worker.py")), str(out), str(root), str(r), str(go)]
        )
        for r in results
    ]
    deadline = time.monotonic() + 60
    while not all(Path(f"{r}.ready").exists() for r in results) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # both start the same grid at once
    assert [r.wait(120) for r in runs] == [0, 0]
    a, b = (json.loads(r.read_text()) for r in results)
    assert not set(a["computed"]) & set(b["computed"])
    assert len(a["computed"]) + len(b["computed"]) == N_POINTS
    assert _view(out) == reference[1]


def test_claims_are_exclusive_and_stale_ones_are_taken_over(tmp_path):
    path = tmp_path / "point.claim"
    held = try_claim(path)
    assert held is not None and try_claim(path) is None  # a live claimant keeps it
    held.release()
    assert not path.exists()
    dead = multiprocessing.get_context("spawn").Process(target=int)
    dead.start()
    dead.join()
    path.write_text(json.dumps({"host": os.uname().nodename, "pid": dead.pid, "token": "x"}))
    taken = try_claim(path)  # its process is gone
    assert taken is not None and read_claim(path)["pid"] == os.getpid()
    taken.release()
    path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "token": "y"}))
    assert try_claim(path, stale_after=60) is None  # another host, recently touched
    os.utime(path, (time.time() - 120, time.time() - 120))
    assert try_claim(path, stale_after=60) is not None  # another host, silent for too long


def test_halving_selects_on_validation_and_spends_less(tmp_path, root):
    budget = TINY.replace(widths=(8, 16, 24), finetune_epochs=4, patience=2)
    kwargs = dict(root=root, sizes=SIZES, verbose=0, models="sda,svm")
    grid = reproduce_vincent2010("rectangles", budget, tmp_path / "grid", **kwargs)
    halving = reproduce_vincent2010(
        "rectangles", budget, tmp_path / "halving", search="halving", halving_factor=2, **kwargs
    )
    cell = json.loads(cell_path(tmp_path / "halving", "rectangles", "SdA-3").read_text())
    assert cell["settings"]["search"] == {"method": "halving", "factor": 2}
    rungs = halving_rungs(6, 2)  # 6 points at 1/4 of the budget, the best 3 at 1/2, the best 2 at all of it
    assert rungs == [(6, 0.25), (3, 0.5), (2, 1.0)]
    assert [sum(t.get("resource", 1.0) == r for t in cell["trials"]) for _, r in rungs] == [6, 3, 2]
    final = [t for t in cell["trials"] if "resource" not in t]
    assert all(t["test_error"] is None for t in cell["trials"] if "resource" in t)  # early rungs: validation only
    assert cell["valid_error"] == min(t["valid_error"] for t in final)
    # the last rung's points are the full grid's points, computed the same way
    full = {json.dumps(t["params"], sort_keys=True): t for t in grid["cells"]["rectangles"]["SdA-3"]["trials"]}
    for t in final:
        assert t["test_error"] == full[json.dumps(t["params"], sort_keys=True)]["test_error"]
    # a candidate the first rung dropped never reaches the last one
    first = sorted((t for t in cell["trials"] if t.get("resource") == 0.25), key=lambda t: t["valid_error"])
    assert {json.dumps(t["params"]) for t in final} <= {json.dumps(t["params"]) for t in first[:3]}
    assert halving["cells"]["rectangles"]["SVMrbf"]["trials"][0]["n_fit"] == 100  # half of 200 examples
    assert halving["points"]["computed"] and len(halving["points"]["computed"]) == 11 + 2 + 1
    with pytest.raises(ValueError, match="settings"):  # a halving cell is never mixed with a grid one
        reproduce_vincent2010("rectangles", budget, tmp_path / "halving", **kwargs)


def test_rungs_follow_scikit_learns_halving_schedule():
    assert halving_rungs(12, 3) == [(12, 1 / 9), (4, 1 / 3), (2, 1.0)]
    assert halving_rungs(36, 3) == [(36, 1 / 27), (12, 1 / 9), (4, 1 / 3), (2, 1.0)]
    assert halving_rungs(2, 3) == [(2, 1.0)] and halving_rungs(1, 2) == [(1, 1.0)]
    with pytest.raises(ValueError, match="factor"):
        halving_rungs(4, 1)


def test_more_workers_without_dask_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(executors_module, "_distributed", lambda: None)
    assert main(["reproduce", "vincent2010", "--datasets", "rect", "--workers", "2", "--out", str(tmp_path)]) == 2
    assert "daekit[distributed]" in capsys.readouterr().err
    with pytest.raises(ValueError, match="workers"):
        reproduce_vincent2010("rectangles", TINY, tmp_path, workers=0)
