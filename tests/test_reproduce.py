"""The reproduction of Vincent et al. (2010) Table 3: cells, caching, the table, DBN weights, CLI."""

import json
import time

import numpy as np
import pytest
import torch

import daekit.dbn as dbn_module
import daekit.reproduce.budget as budget_module
import daekit.reproduce.cells as cells_module
import daekit.reproduce.networks as networks_module
import daekit.stacked as stacked_module
from daekit.cli import main
from daekit.dbn import network_from_rbms, pretrain_rbms, train_dbn
from daekit.models.rbm import RBM
from daekit.reproduce import (
    BUDGETS,
    DATASET_LABELS,
    DATASETS,
    MODELS,
    PUBLISHED,
    Budget,
    cell_path,
    get_budget,
    prepare_data,
    reproduce_vincent2010,
    resolve_datasets,
    resolve_models,
    run_cell,
)
from daekit.reproduce.trials import TrialCache
from daekit.stacked import StackedConfig

# a shrunk "small" budget: every model end to end in seconds
TINY = BUDGETS["small"].replace(
    name="tiny",
    widths=(16,),
    pretrain_epochs=(1,),
    noise_levels=(0.1, 0.4),
    finetune_epochs=3,
    patience=2,
    svm_C=(1.0, 10.0),
    svm_gamma=(1.0,),
)
SIZES = (200, 100, 300)


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("DAEKIT_DATA", str(root))  # nothing is written to the shared data folder
    return root


def _mtimes(out):
    return {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*.json")}


def test_reproduce_rectangles_end_to_end_then_cached(tmp_path, data_root):
    out = tmp_path / "results"
    first = reproduce_vincent2010("rectangles", TINY, out, root=data_root, sizes=SIZES, verbose=0)
    assert first["computed"] == [["rectangles", m] for m in MODELS] and first["cached"] == []
    for model in MODELS:
        cell = json.loads(cell_path(out, "rectangles", model).read_text())
        assert 0.0 <= cell["test_error"] <= 1.0 and cell["test_ci95"] > 0
        assert 0.0 <= cell["valid_error"] <= 1.0
        assert cell["data"]["n_train"] == 200 and cell["data"]["n_test"] == 300
        assert cell["published"]["error"] == pytest.approx(PUBLISHED["rectangles"][model].error / 100)
        # the selected grid point is the one with the lowest validation error
        assert cell["valid_error"] == min(t["valid_error"] for t in cell["trials"])
        assert not cell_path(out, "rectangles", model).with_suffix(".trials").exists()
    sda = json.loads(cell_path(out, "rectangles", "SdA-3").read_text())
    assert len(sda["trials"]) == 2 and sda["noise"] in (0.1, 0.4)
    saa = json.loads(cell_path(out, "rectangles", "SAA-3").read_text())
    assert saa["noise"] == 0.0 and len(saa["trials"]) == 1
    dbn = json.loads(cell_path(out, "rectangles", "DBN-3").read_text())
    assert len(dbn["trials"]) == 2 and dbn["selected"]["rbm_lr"] in TINY.rbm_lrs
    svm = json.loads(cell_path(out, "rectangles", "SVMrbf").read_text())
    assert len(svm["trials"]) == 2 and svm["refit"]["n_fit"] == 300  # refit on train + valid

    table = (out / "table.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| rect |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 9 and "—" not in cells  # every published and reproduced cell filled
    assert cells[1] == "2.15 ±0.13" and cells[7].endswith("(10%)")  # published SVMrbf; SdA-3 with its ν
    assert cells[8].endswith(f"({100 * sda['noise']:.0f}%)")
    png = (out / "table.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"

    # second call: every cell comes from the cache, nothing is rewritten
    before = _mtimes(out)
    t0 = time.perf_counter()
    second = reproduce_vincent2010("rect", TINY, out, root=data_root, sizes=SIZES, verbose=0)
    assert time.perf_counter() - t0 < 5
    assert second["computed"] == [] and len(second["cached"]) == 4
    assert _mtimes(out) == before
    # a cached cell made with other settings is refused, not mixed in
    with pytest.raises(ValueError, match="force"):
        reproduce_vincent2010("rectangles", TINY.replace(widths=(8,)), out, root=data_root, sizes=SIZES, verbose=0)
    # --force recomputes only the cells asked for
    third = reproduce_vincent2010(
        "rectangles", TINY, out, models="svm", force=True, root=data_root, sizes=SIZES, verbose=0
    )
    assert third["computed"] == [["rectangles", "SVMrbf"]]
    # the CLI reassembles the table from the cells
    assert main(["reproduce", "vincent2010", "--out", str(out), "--table-only"]) == 0
    assert "| rect |" in (out / "table.md").read_text()


@pytest.mark.slow
def test_cli_small_budget_on_rectangles_fills_every_cell(tmp_path, data_root, capsys):
    """The real ``--budget small`` (not a shrunk one) on the full rectangles set, through the CLI:
    what the issue's CI check runs (about two minutes on one core)."""
    out = tmp_path / "results"
    assert (
        main(["reproduce", "vincent2010", "--datasets", "rect", "--budget", "small", "--out", str(out), "--quiet"]) == 0
    )
    assert "computed 4 cells" in capsys.readouterr().out
    row = next(line for line in (out / "table.md").read_text().splitlines() if line.startswith("| rect |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 9 and "—" not in cells
    small = BUDGETS["small"]
    for model in MODELS:
        cell = json.loads(cell_path(out, "rectangles", model).read_text())
        assert cell["budget"] == "small" and len(cell["trials"]) == small.n_trials(model)
        assert cell["data"]["n_train"] == 1000 and cell["data"]["n_valid"] == 200 and cell["data"]["n_test"] == 50000
        # far better than chance (50%) on the two-class rectangles, as every model is at this budget
        assert cell["test_error"] < 0.15, (model, cell["test_error"])


def test_cells_on_other_data_are_not_mixed_into_a_row(tmp_path, data_root):
    out = tmp_path / "results"
    reproduce_vincent2010("rectangles", TINY, out, models="svm", root=data_root, sizes=SIZES, verbose=0)
    path = cell_path(out, "rectangles", "SVMrbf")
    cell = json.loads(path.read_text())
    cell["data"]["sha256"] = "0" * 64  # as if computed on data of another recipe or seed
    path.write_text(json.dumps(cell))
    with pytest.raises(ValueError, match="other data"):
        reproduce_vincent2010("rectangles", TINY, out, models="saa", root=data_root, sizes=SIZES, verbose=0)
    assert not cell_path(out, "rectangles", "SAA-3").exists()
    # recomputing the stale cell itself is allowed
    again = reproduce_vincent2010(
        "rectangles", TINY, out, models="svm", force=True, root=data_root, sizes=SIZES, verbose=0
    )
    assert again["computed"] == [["rectangles", "SVMrbf"]]
    assert json.loads(path.read_text())["data"]["sha256"] != "0" * 64


def test_a_grid_point_on_other_data_is_recomputed(tmp_path):
    settings = {"paper": "vincent2010", "grid": {"widths": [8]}}
    old = TrialCache(tmp_path, settings, "a" * 64)
    old.put("k", {"valid_error": 0.1})
    assert TrialCache(tmp_path, settings, "a" * 64).get("k")["valid_error"] == 0.1
    assert TrialCache(tmp_path, settings, "b" * 64).get("k") is None
    assert TrialCache(tmp_path, {**settings, "grid": {}}, "a" * 64).get("k") is None
    # a record written before the data hash was stored is matched on its settings alone
    (tmp_path / "legacy.json").write_text(json.dumps({"valid_error": 0.2, "settings": settings}))
    assert TrialCache(tmp_path, settings, "b" * 64).get("legacy")["valid_error"] == 0.2


def test_committed_paper_cells_still_match_the_paper_budget(tmp_path):
    """The paper-budget cells kept in the repository (computed over several sessions) must stay
    reusable by ``daekit reproduce --budget paper --out benchmarks/results/vincent2010_paper``: a
    change to the paper budget that would orphan them fails here, not hours into a run."""
    import shutil
    from pathlib import Path

    from daekit.reproduce import assemble_table, read_cells

    folder = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "vincent2010_paper"
    cells = read_cells(folder)
    assert cells, f"no finished cells under {folder}"
    paper = BUDGETS["paper"]
    for dataset, row in cells.items():
        for model, cell in row.items():
            assert cell["budget"] == "paper"
            assert cell["settings"] == cells_module.cell_settings(dataset, paper, model, None), (dataset, model)
            assert len(cell["trials"]) == paper.n_trials(model)
            assert cell["valid_error"] == min(t["valid_error"] for t in cell["trials"] if not t.get("diverged"))
    for trial in (folder / "cells").rglob("*.trials/*.json"):
        dataset, model = trial.parent.parent.name, trial.parent.name[: -len(".trials")]
        stored = json.loads(trial.read_text())["settings"]
        assert stored == cells_module.cell_settings(dataset, paper, model, None), trial
    copy = tmp_path / "paper"
    shutil.copytree(folder / "cells", copy / "cells")
    md, _ = assemble_table(copy)
    table = md.read_text()
    for dataset in cells:
        assert f"| {DATASET_LABELS[dataset]} |" in table


def test_killed_cell_resumes_at_the_next_grid_point(tmp_path, data_root, monkeypatch):
    data = prepare_data("rectangles", TINY, root=data_root, sizes=SIZES)
    real, calls = stacked_module.finetune, []

    def failing(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed during the second grid point
        return real(*args, **kwargs)

    monkeypatch.setattr(stacked_module, "finetune", failing)
    with pytest.raises(KeyboardInterrupt):
        run_cell(data, "SdA-3", TINY, out=tmp_path, sizes=SIZES, verbose=0)
    assert len(list(cell_path(tmp_path, "rectangles", "SdA-3").with_suffix(".trials").glob("*.json"))) == 1
    calls.clear()
    monkeypatch.setattr(stacked_module, "finetune", lambda *a, **k: calls.append(k) or real(*a, **k))
    cell = run_cell(data, "SdA-3", TINY, out=tmp_path, sizes=SIZES, verbose=0)
    assert len(calls) == 1 and len(cell["trials"]) == 2  # only the unfinished grid point ran
    assert cell_path(tmp_path, "rectangles", "SdA-3").is_file()


@pytest.mark.parametrize("model", ["SdA-3", "DBN-3"])
def test_finetuning_rates_share_one_pretrained_stack(tmp_path, data_root, monkeypatch, model):
    budget = TINY.replace(finetune_lrs=(0.3, 0.05), noise_levels=(0.25,), rbm_lrs=(0.05,))
    data = prepare_data("rectangles", budget, root=data_root, sizes=SIZES)
    pretrained = []
    for module, name in ((stacked_module, "pretrain_layers"), (dbn_module, "pretrain_rbms")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, **k: pretrained.append(1) or _real(*a, **k))
    cell = run_cell(data, model, budget, verbose=0)
    assert len(pretrained) == 1 and len(cell["trials"]) == 2  # one stack, two fine-tunings
    first, second = cell["trials"]
    assert [t["params"]["finetune_lr"] for t in cell["trials"]] == [0.3, 0.05]
    assert not first["pretraining_shared"] and second["pretraining_shared"]
    assert any(k.startswith(("pretrain-", "rbm-")) for k in first["phase_seconds"])
    assert set(second["phase_seconds"]) == {"finetune"}  # the pretraining time is counted once
    assert first["valid_error"] != second["valid_error"] or first["valid_loss"] != second["valid_loss"]

    # each grid point is exactly the network train_stacked / train_dbn gives for its settings:
    # fine-tuning a copy leaves the shared stack untouched
    for trial in cell["trials"]:
        lr = trial["params"]["finetune_lr"]
        config = networks_module.stacked_config(
            budget, 16, 1, 0.0 if model == "DBN-3" else 0.25, lr, "cpu", 0, len(data.x_train)
        )
        if model == "DBN-3":
            result = train_dbn(
                data.x_train,
                data.y_train,
                data.x_valid,
                data.y_valid,
                config,
                rbm_learning_rate=0.05,
                rbm_batch_size=budget.rbm_batch_size,
                n_classes=2,
            )
        else:
            result = stacked_module.train_stacked(
                data.x_train, data.y_train, data.x_valid, data.y_valid, config, n_classes=2
            )
        expected = networks_module.evaluate_network(result.network, data)
        assert trial["valid_loss"] == pytest.approx(expected["valid_loss"], rel=1e-5)
        assert trial["test_error"] == pytest.approx(expected["test_error"])


def test_a_diverged_finetuning_is_recorded_and_never_selected(tmp_path, data_root, monkeypatch):
    from daekit.training.config import NonFiniteLossError

    budget = TINY.replace(finetune_lrs=(0.3, 100.0), noise_levels=(0.25,))
    data = prepare_data("rectangles", budget, root=data_root, sizes=SIZES)
    real = stacked_module.finetune

    def finetune(network, train, valid, config, **kwargs):
        if config.finetune_learning_rate == 100.0:
            raise NonFiniteLossError("the training loss became nan")
        return real(network, train, valid, config, **kwargs)

    monkeypatch.setattr(stacked_module, "finetune", finetune)
    cell = run_cell(data, "SdA-3", budget, out=tmp_path, verbose=0)
    diverged = cell["trials"][1]
    assert "nan" in diverged["diverged"] and diverged["valid_error"] == 1.0 and diverged["test_error"] is None
    assert cell["selected"]["finetune_lr"] == 0.3 and cell["test_error"] is not None
    json.loads(cell_path(tmp_path, "rectangles", "SdA-3").read_text())  # strict JSON, no NaN/inf
    # every grid point diverged: an error, not a cell
    with pytest.raises(NonFiniteLossError, match="every grid point"):
        run_cell(data, "SdA-3", budget.replace(finetune_lrs=(100.0,)), verbose=0)


def _rbm_weight_bias(rbm):
    if isinstance(rbm, RBM):
        return rbm.weight.detach().numpy(), rbm.hidden_bias.detach().numpy()
    return rbm.components_.astype(np.float32), rbm.intercept_hidden_.astype(np.float32)


@pytest.mark.parametrize("kind", ["daekit", "sklearn"])
def test_dbn_weights_come_from_the_rbms(monkeypatch, kind):
    rng = np.random.default_rng(0)
    x = (rng.random((120, 30)) < 0.3).astype(np.float32)
    y = rng.integers(0, 3, 120)
    rbms, _ = pretrain_rbms(x, (12, 8, 5), epochs=2, seed=1, rbm=kind)
    assert all(isinstance(r, RBM) == (kind == "daekit") for r in rbms)
    net = network_from_rbms(rbms, 3)
    h = x
    for layer, rbm in zip(net.hidden, rbms):
        w, b = _rbm_weight_bias(rbm)
        np.testing.assert_array_equal(layer.weight.detach().numpy(), w)
        np.testing.assert_array_equal(layer.bias.detach().numpy(), b)
        h = rbm.transform(h)  # each RBM was trained on the hidden probabilities of the one below
    with torch.no_grad():
        np.testing.assert_allclose(net.features(torch.from_numpy(x)).numpy(), h, rtol=1e-4, atol=1e-5)

    # inside train_dbn: the network handed to fine-tuning starts from the first RBM's weights
    seen = {}
    real_finetune, real_from_rbms = dbn_module.finetune, dbn_module.network_from_rbms

    def from_rbms(rbms, n_classes):
        seen["rbms"] = rbms
        return real_from_rbms(rbms, n_classes)

    def finetune(network, *args, **kwargs):
        seen["initial"] = network.hidden[0].weight.detach().clone().numpy()
        return real_finetune(network, *args, **kwargs)

    monkeypatch.setattr(dbn_module, "network_from_rbms", from_rbms)
    monkeypatch.setattr(dbn_module, "finetune", finetune)
    config = StackedConfig(
        hidden_layer_sizes=(12, 8, 5), pretrain_epochs=2, finetune_epochs=2, patience=1, device="cpu"
    )
    result = train_dbn(x[:100], y[:100], x[100:], y[100:], config, n_classes=3, rbm=kind)
    np.testing.assert_array_equal(seen["initial"], _rbm_weight_bias(seen["rbms"][0])[0])
    assert result.rbms is seen["rbms"] and len(result.finetune_history.records) >= 1
    assert not np.array_equal(result.network.hidden[0].weight.detach().numpy(), seen["initial"])  # fine-tuned
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pretrain_rbms(x * 2, (4,), rbm=kind)


def test_budgets_and_published_numbers():
    small, paper = BUDGETS["small"], BUDGETS["paper"]
    assert small.max_train <= 2000 and all(100 <= w <= 300 for w in small.widths)
    assert max(small.pretrain_epochs) <= 3 and small.finetune_epochs <= 20
    assert small.n_trials("SVMrbf") == 4 and small.noise_levels == (0.10, 0.25, 0.40)
    assert small.n_trials("SdA-3") == 12 and small.n_trials("SAA-3") == 4 and small.n_trials("DBN-3") == 8
    assert paper.max_train is None and paper.widths == (500, 1000)
    assert set(PUBLISHED) == set(DATASETS) and all(set(row) == set(MODELS) for row in PUBLISHED.values())
    assert PUBLISHED["mnist-rot-back-image"]["SdA-3"].error == 43.76
    assert PUBLISHED["mnist-rot-back-image"]["SdA-3"].noise == 0.25
    assert PUBLISHED["convex"]["SVMrbf"].source.startswith("ICML 2008")
    assert resolve_datasets("all") == list(DATASETS)
    assert resolve_datasets("rect,basic") == ["mnist-basic", "rectangles"]
    assert resolve_models("sda, svm") == ["SVMrbf", "SdA-3"]
    assert "width ∈ {100, 300}" in small.describe() and "RBM lr ∈ {0.05, 0.1}" in small.describe()
    assert small.rbm == paper.rbm == "daekit" and "centred" in small.describe()
    assert "PCD" in small.replace(rbm="sklearn").describe()
    # the RBM implementation is part of DBN-3's cell settings, so cells of the other one are not reused
    assert small.model_settings("DBN-3")["rbm"] == "daekit"
    assert small.replace(rbm="sklearn").model_settings("DBN-3") != small.model_settings("DBN-3")
    assert budget_module._RBM_KINDS == dbn_module.RBM_KINDS


def test_paper_budget_scales_finetuning_to_a_minimum_number_of_updates():
    paper, small = BUDGETS["paper"], BUDGETS["paper"].replace(finetune_min_updates=None)
    assert paper.finetune_schedule(10_000) == (60, 10)  # 60 epochs × 500 updates already ≥ 30 000
    assert paper.finetune_schedule(1_000) == (600, 100)  # rectangles: 50 updates per epoch
    assert paper.finetune_schedule(6_500) == (93, 16)  # convex: 325 updates per epoch, ×1.54
    assert small.finetune_schedule(1_000) == (60, 10)
    assert "finetune_min_updates" in paper.model_settings("SdA-3")
    assert "finetune_min_updates" not in BUDGETS["small"].model_settings("SdA-3")  # old cells stay valid
    assert "30000 updates" in paper.describe()
    # the fine-tuning learning rate is a grid axis of the paper budget; one rate keeps the old key
    assert paper.n_trials("SdA-3") == 2 * 2 * 3 * len(paper.finetune_lrs) and len(paper.finetune_lrs) > 1
    assert "finetune_lrs" in paper.model_settings("SAA-3") and "finetune_lr" in BUDGETS["small"].model_settings("SAA-3")
    assert "fine-tuning lr ∈ {0.5, 1, 2}" in paper.describe()
    with pytest.raises(ValueError, match="finetune_min_updates"):
        paper.replace(finetune_min_updates=0)


@pytest.mark.parametrize(
    "kwargs,parameter",
    [
        ({"datasets": "mnist-upside-down"}, "datasets"),
        ({"datasets": ""}, "datasets"),
        ({"budget": "huge"}, "budget"),
        ({"models": "svm,rnn"}, "models"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, parameter, tmp_path):
    with pytest.raises(ValueError, match=parameter):
        reproduce_vincent2010(**{"out": tmp_path / "r", **kwargs})
    assert not (tmp_path / "r").exists()


def test_bad_budget_fields_name_the_field():
    with pytest.raises(ValueError, match="widths"):
        BUDGETS["small"].replace(widths=())
    with pytest.raises(ValueError, match="noise_levels"):
        BUDGETS["small"].replace(noise_levels=(0.5, 1.0))
    with pytest.raises(ValueError, match="rbm_lrs"):
        BUDGETS["small"].replace(rbm_lrs=(0.1, -1.0))
    with pytest.raises(ValueError, match="rbm"):
        BUDGETS["small"].replace(rbm="torch")
    with pytest.raises(ValueError, match="finetune_lrs"):
        BUDGETS["small"].replace(finetune_lrs=())
    with pytest.raises(ValueError, match="max_train"):
        BUDGETS["small"].replace(max_train=0)
    with pytest.raises(ValueError, match="budget"):
        get_budget(3)
    assert isinstance(get_budget("Paper"), Budget)


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["reproduce", "vincent2011"], "invalid choice"),
        (["reproduce", "vincent2010", "--budget", "huge"], "--budget"),
        (["reproduce", "vincent2010", "--datasets", "nope"], "datasets"),
        (["reproduce", "vincent2010", "--models", "rnn"], "models"),
        (["reproduce", "vincent2010", "--max-test", "0"], "--max-test"),
        (["reproduce", "vincent2010", "--threads", "two"], "--threads"),
        (["reproduce"], "paper"),
    ],
)
def test_cli_bad_flags_exit_2(argv, fragment, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv + ["--out", str(tmp_path / "r")])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()
