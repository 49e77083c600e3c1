"""The model registry is complete at ``import daekit``: every saved model loads in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import daekit
from daekit.models.dae import DAE
from daekit.models.edm import EDMDenoiser
from daekit.models.mnist_classifier import MNISTClassifier
from daekit.models.registry import MODEL_REGISTRY, load_model, save_model
from daekit.models.score_networks import NoiseConditionalScoreNet, ScoreNet
from daekit.models.stacked import StackedNetwork
from daekit.models.unet import UNet

_LOADER = """
import sys, torch
import daekit
folder, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    case = torch.load(f"{folder}/case{i}.pt", weights_only=True)
    model = daekit.load_model(f"{folder}/model{i}").eval()
    with torch.no_grad():
        out = model(case["x"], *case["extra"])
    assert type(model).__name__ == case["name"], (type(model).__name__, case["name"])
    torch.testing.assert_close(out, case["out"], rtol=0, atol=0)
    print(case["name"])
"""


def _models():
    g = torch.Generator().manual_seed(0)
    return [
        (DAE(5, 3, tied_weights=False, generator=g), torch.rand(4, 5, generator=g), ()),
        (StackedNetwork(5, [4, 3], 2, generator=g), torch.rand(4, 5, generator=g), ()),
        (ScoreNet(2, hidden=(8,), fourier_features=3, generator=g), torch.randn(4, 2, generator=g), ()),
        (
            NoiseConditionalScoreNet(2, hidden=(8,), n_frequencies=2, generator=g),
            torch.randn(4, 2, generator=g),
            (0.5,),
        ),
        (UNet(1, 8, (1, 2), 1), torch.randn(2, 1, 8, 8, generator=g), (torch.zeros(2),)),
        (EDMDenoiser(UNet(1, 8, (1, 2), 1), sigma_data=0.5), torch.randn(2, 1, 8, 8, generator=g), (0.3,)),
        (MNISTClassifier((2, 3), 8), torch.rand(2, 784, generator=g), ()),
    ]


def test_every_model_loads_in_a_fresh_process_after_import_daekit(tmp_path):
    cases = _models()
    assert {type(m).__name__ for m, _, _ in cases} == set(MODEL_REGISTRY)
    for i, (model, x, extra) in enumerate(cases):
        save_model(tmp_path / f"model{i}", model.eval())
        with torch.no_grad():
            out = model(x, *extra)
        torch.save({"name": type(model).__name__, "x": x, "extra": list(extra), "out": out}, tmp_path / f"case{i}.pt")
    src = str(Path(daekit.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-c", _LOADER, str(tmp_path), str(len(cases))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [type(m).__name__ for m, _, _ in cases]


def test_unknown_model_class_is_a_clear_error(tmp_path):
    folder = save_model(tmp_path / "m", DAE(3, 2))
    config = json.loads((folder / "config.json").read_text())
    config["model_class"] = "NoSuchNet"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="unknown model_class 'NoSuchNet'"):
        load_model(folder)
