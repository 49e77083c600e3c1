"""One name per setting: each field of a run config is a CLI flag of the same name (with dashes)
that sets that field, and the estimators' parameters map onto config fields by a declared table."""

import argparse
from dataclasses import fields

import pytest

from daekit import DenoisingAutoencoder, StackedDenoisingAutoencoderClassifier
from daekit.cli import build_parser
from daekit.estimators import dae as dae_estimator
from daekit.estimators import sda as sda_estimator
from daekit.runs.dae import DAERunConfig
from daekit.runs.score import ScoreRunConfig
from daekit.stacked import StackedConfig

# a value other than the default for each field, as typed on the command line and as parsed
DAE_VALUES = {
    "data": ("digits", "digits"),
    "hidden": ("7", 7),
    "corruption": ("gaussian:0.3", "gaussian:0.3"),
    "epochs": ("3", 3),
    "batch_size": ("11", 11),
    "lr": ("0.02", 0.02),
    "optimizer": ("adam", "adam"),
    "momentum": ("0.5", 0.5),
    "tied": (None, False),
    "activation": ("tanh", "tanh"),
    "reconstruction": ("gaussian", "gaussian"),
    "valid_size": ("9", 9),
    "seed": ("5", 5),
    "device": ("cpu", "cpu"),
    "precision": ("bfloat16", "bfloat16"),
    "probe": (None, False),
    "probe_size": ("33", 33),
    "verbose": ("0", 0),
    "keep_checkpoints": ("4", 4),
    "early_stopping": ("", True),
}
SCORE_VALUES = {
    "data": ("25gaussians", "25gaussians"),
    "objective": ("ism", "ism"),
    "sigma": ("0.3", 0.3),
    "epochs": ("3", 3),
    "seed": ("2", 2),
    "n_train": ("100", 100),
    "n_eval": ("50", 50),
    "batch_size": ("64", 64),
    "lr": ("0.01", 0.01),
    "hidden": ("8,9", (8, 9)),
    "activation": ("tanh", "tanh"),
    "fourier_features": ("0", 0),
    "fourier_scale": ("2.0", 2.0),
    "trace": ("hutchinson", "hutchinson"),
    "n_probes": ("3", 3),
    "sigma_max": ("2.0", 2.0),
    "levels": ("4", 4),
    "device": ("auto", "auto"),
    "verbose": ("0", 0),
}


def subparser(*names):
    parser = build_parser()
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def flag_sets_field(parser, to_config, field, typed, value, base):
    flag = "--" + field.replace("_", "-")
    # typed None: a switch set by --no-NAME; typed "": a switch set by --NAME alone
    argv = [*base, f"--no-{flag[2:]}" if typed is None else flag, *([] if typed in (None, "") else [typed])]
    args = parser.parse_args(argv)
    assert getattr(to_config(args), field) == value, (flag, getattr(to_config(args), field))


@pytest.mark.parametrize(
    "command,config_cls,values,base",
    [
        (("train",), DAERunConfig, DAE_VALUES, ["--out", "x"]),
        (("score", "train"), ScoreRunConfig, SCORE_VALUES, ["--out", "x"]),
    ],
)
def test_every_run_config_field_has_a_flag_of_its_name(command, config_cls, values, base):
    from daekit.cli import score_cmd, train_cmd

    to_config = train_cmd.config_from_args if command == ("train",) else score_cmd.config_from_args
    names = [f.name for f in fields(config_cls)]
    assert sorted(names) == sorted(values), "a field without a value in this test"
    parser = subparser(*command)
    options = {s for a in parser._actions for s in a.option_strings}
    for name in names:
        assert "--" + name.replace("_", "-") in options, name
        assert getattr(config_cls(), name) != values[name][1], f"{name}: pick a non-default value"
        flag_sets_field(parser, to_config, name, *values[name], base)


def test_defaults_of_flags_are_the_config_defaults():
    from daekit.cli import score_cmd, train_cmd

    assert train_cmd.config_from_args(subparser("train").parse_args(["--out", "x"])) == DAERunConfig()
    assert score_cmd.config_from_args(subparser("score", "train").parse_args(["--out", "x"])) == ScoreRunConfig()


@pytest.mark.parametrize(
    "estimator,module,config_cls",
    [
        (DenoisingAutoencoder, dae_estimator, DAERunConfig),
        (StackedDenoisingAutoencoderClassifier, sda_estimator, StackedConfig),
    ],
)
def test_estimator_parameters_map_onto_config_fields(estimator, module, config_cls):
    params = set(estimator().get_params())
    table = module.RUN_CONFIG_FIELDS
    assert params == set(table) | set(module.ESTIMATOR_ONLY)
    assert not set(table) & set(module.ESTIMATOR_ONLY)
    field_names = {f.name for f in fields(config_cls)}
    assert set(table.values()) <= field_names, set(table.values()) - field_names
    # a parameter named like a config field is that field
    for name in params & field_names:
        assert table.get(name) == name, name


def test_sda_flags_named_after_stacked_config_fields_set_those_fields(tmp_path):
    from daekit.cli import sda_cmd

    parser = subparser("sda")
    options = {s for a in parser._actions for s in a.option_strings}
    for field in (
        "hidden_layer_sizes",
        "noise_levels",
        "corruption",
        "reconstruction",
        "pretrain_epochs",
        "pretrain_learning_rate",
        "finetune_epochs",
        "finetune_learning_rate",
        "batch_size",
        "optimizer",
        "patience",
        "seed",
        "device",
        "precision",
    ):
        assert "--" + field.replace("_", "-") in options, field
    for field in ("tied_weights", "pretrain", "early_stopping"):  # booleans that default to true
        assert "--no-" + field.replace("_", "-") in options, field
    args = parser.parse_args(
        [
            "--out",
            "x",
            "--hidden-layer-sizes",
            "7,8",
            "--noise-levels",
            "0.1,0.2",
            "--pretrain-learning-rate",
            "0.3",
            "--finetune-learning-rate",
            "0.4",
            "--no-tied-weights",
        ]
    )
    config = sda_cmd.stacked_config(sda_cmd.resolve_settings(args))
    assert config.hidden_layer_sizes == (7, 8) and config.noise_levels == (0.1, 0.2)
    assert config.pretrain_learning_rate == 0.3 and config.finetune_learning_rate == 0.4 and not config.tied_weights
    toml = tmp_path / "sda.toml"
    toml.write_text("hidden-layer-sizes = [5, 6]\nnoise_levels = 0.1\npretrain_learning_rate = 0.2\n")
    args = parser.parse_args(["--out", "x", "--config", str(toml)])
    config = sda_cmd.stacked_config(sda_cmd.resolve_settings(args))
    assert config.hidden_layer_sizes == (5, 6) and config.noise_levels == (0.1, 0.1)
    assert config.pretrain_learning_rate == 0.2
