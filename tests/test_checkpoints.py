"""Checksummed checkpoints: a truncated or garbled newest checkpoint is skipped on resume (with a
warning), --keep N keeps N, a corrupt model folder gives an error naming the file, and a diverged
run keeps the last good checkpoint."""

import logging

import pytest
import torch
from safetensors.torch import load_file

from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit, load_model, save_model
from daekit.training.checkpoints import checkpoints_of, latest_checkpoint
from daekit.training.config import NonFiniteLossError
from daekit.utils.checksums import CHECKSUM_FILE, checksum_problem


def problem(seed=0):
    x = torch.rand(200, 12, generator=torch.Generator().manual_seed(seed))
    return DAE(12, 6, generator=torch.Generator().manual_seed(seed + 1)), x


def train(run_dir, epochs, resume=False, keep=3):
    m, x = problem()
    fit(
        m,
        DenoisingObjective(Masking(0.3)),
        x,
        TrainConfig(epochs=epochs, batch_size=20, momentum=0.5, seed=4, verbose=0, keep_checkpoints=keep),
        run_dir=run_dir,
        resume=resume,
    )
    return m


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garble(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage,name",
    [(truncate, "model.safetensors"), (garble, "model.safetensors"), (truncate, "trainer.pt"), (garble, "trainer.pt")],
)
def test_resume_falls_back_to_the_newest_good_checkpoint(tmp_path, caplog, damage, name):
    reference = train(tmp_path / "ref", 3)
    train(tmp_path / "run", 3)
    newest = latest_checkpoint(tmp_path / "run" / "checkpoints", "train")
    assert newest.name == "train-0003"
    damage(newest / name)
    assert name in checksum_problem(newest)
    with caplog.at_level(logging.WARNING, logger="daekit.training.checkpoints"):
        resumed = train(tmp_path / "run", 3, resume=True)
    assert "train-0003" in caplog.text and "falling back" in caplog.text
    # epoch 3 was trained again from epoch 2's checkpoint: the same weights as the uninterrupted run
    assert torch.equal(resumed.W, reference.W)
    good = latest_checkpoint(tmp_path / "run" / "checkpoints", "train")
    assert good.name == "train-0003" and checksum_problem(good) is None
    assert (tmp_path / "run" / "checkpoints" / "train-0003.corrupt").is_dir()  # set aside, not deleted


def test_keep_n_checkpoints(tmp_path):
    train(tmp_path, 4, keep=2)
    assert [p.name for p in checkpoints_of(tmp_path / "checkpoints", "train")] == ["train-0004", "train-0003"]
    assert all((p / CHECKSUM_FILE).is_file() for p in checkpoints_of(tmp_path / "checkpoints", "train"))


def test_all_checkpoints_damaged_starts_over_with_a_warning(tmp_path, caplog):
    reference = train(tmp_path / "ref", 2)
    train(tmp_path / "run", 2)
    for p in checkpoints_of(tmp_path / "run" / "checkpoints", "train"):
        garble(p / "model.safetensors")
    with caplog.at_level(logging.WARNING):
        resumed = train(tmp_path / "run", 2, resume=True)
    assert caplog.text.count("falling back") == 2
    assert torch.equal(resumed.W, reference.W)


@pytest.mark.parametrize("damage", [truncate, garble])
def test_loading_a_corrupt_model_names_the_file(tmp_path, damage):
    m, _ = problem()
    save_model(tmp_path / "model", m)
    damage(tmp_path / "model" / "model.safetensors")
    with pytest.raises(ValueError, match=r"model\.safetensors.*corrupt"):
        load_model(tmp_path / "model")
    # without the checksums (a folder written before they were stored) the parse error names it too
    (tmp_path / "model" / CHECKSUM_FILE).unlink()
    if damage is truncate:
        with pytest.raises(ValueError, match=r"model\.safetensors cannot be read"):
            load_model(tmp_path / "model")


def test_corrupt_config_of_a_model_names_the_file(tmp_path):
    m, _ = problem()
    save_model(tmp_path / "model", m)
    (tmp_path / "model" / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config\.json is not valid JSON"):
        load_model(tmp_path / "model")


def test_divergence_names_epoch_and_step_and_keeps_the_last_good_checkpoint(tmp_path):
    m, x = problem()

    class ExplodesAtStep:
        calls = 0

        def __call__(self, model, batch, generator):
            self.calls += 1
            loss = model.loss(batch[0], batch[0])
            return loss * float("inf") if self.calls == 2 * 10 + 7 else loss

    with pytest.raises(NonFiniteLossError) as e:
        fit(m, ExplodesAtStep(), x, TrainConfig(epochs=5, batch_size=20, verbose=0), run_dir=tmp_path)
    message = str(e.value)
    assert "\n" not in message and "epoch 3, step 7/10" in message and "train-0002" in message
    kept = load_file(str(tmp_path / "checkpoints" / "train-0002" / "model.safetensors"))
    assert torch.equal(m.W.detach(), kept["W"])
    assert [p.name for p in checkpoints_of(tmp_path / "checkpoints", "train")][0] == "train-0002"


def test_viz_and_sample_on_a_run_with_a_corrupt_model_name_the_file(tmp_path, capsys):
    from daekit.cli import main

    m, _ = problem()
    save_model(tmp_path / "run" / "model", m)
    truncate(tmp_path / "run" / "model" / "model.safetensors")
    assert main(["viz", "filters", str(tmp_path / "run"), "--out", str(tmp_path / "f.png")]) == 2
    assert main(["sample", str(tmp_path / "run"), "--n", "2", "--out", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("model.safetensors" in line and "corrupt" in line for line in err)
    assert not (tmp_path / "f.png").exists() and not (tmp_path / "s.png").exists()
