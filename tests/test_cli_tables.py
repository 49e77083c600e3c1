import numpy as np
import pandas as pd

from daekit.cli import main


def write_table(tmp_path, n=80, suffix=".csv"):
    rng = np.random.default_rng(0)
    a = rng.normal(size=n)
    df = pd.DataFrame({"a": a, "b": 2 * a + 0.1 * rng.normal(size=n), "kind": np.where(a > 0, "up", "down")})
    df.loc[[3, 9], "b"] = np.nan
    df.loc[5, "kind"] = None
    path = tmp_path / f"data{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path, index=False)
    return df, path


def test_outliers_fit_then_score_writes_scores_and_labels(tmp_path, capsys):
    df, path = write_table(tmp_path)
    assert (
        main(
            [
                "outliers",
                "fit",
                str(path),
                "--out",
                str(tmp_path / "od"),
                "--epochs",
                "3",
                "--quiet",
                "--contamination",
                "0.1",
            ]
        )
        == 0
    )
    assert (tmp_path / "od" / "detector.pkl").is_file() and (tmp_path / "od" / "run.json").is_file()
    out = tmp_path / "scores.parquet"
    assert main(["outliers", "score", str(tmp_path / "od"), str(path), "--out", str(out)]) == 0
    scores = pd.read_parquet(out)
    assert list(scores.columns) == ["score", "decision", "label"] and len(scores) == len(df)
    assert set(scores["label"]) <= {-1, 1}
    np.testing.assert_array_equal(scores["label"], np.where(scores["decision"] < 0, -1, 1))
    assert abs((scores["label"] == -1).mean() - 0.1) <= 0.02


def test_impute_fills_every_entry_and_keeps_observed_ones(tmp_path):
    df, path = write_table(tmp_path, suffix=".parquet")
    out = tmp_path / "filled.csv"
    assert main(["impute", str(path), "--out", str(out), "--epochs", "3", "--quiet"]) == 0
    filled = pd.read_csv(out)
    assert filled.notna().all().all()
    seen = df["b"].notna()
    np.testing.assert_allclose(filled.loc[seen, "b"], df.loc[seen, "b"])
    assert main(["impute", str(path), "--out", str(out), "--epochs", "3", "--quiet", "--n-imputations", "3"]) == 0
    many = pd.read_csv(out)
    assert list(many.columns) == ["imputation", "a", "b", "kind"] and len(many) == 3 * len(df)


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    _, path = write_table(tmp_path)
    assert main(["impute", str(path), "--out", str(tmp_path / "x.txt")]) == 2
    assert "must end in" in capsys.readouterr().err
    assert main(["impute", str(path), "--out", str(tmp_path / "f.csv"), "--numeric", "kind"]) == 2
    err = capsys.readouterr().err
    assert "'kind'" in err and err.count("\n") == 1
    assert main(["outliers", "score", str(tmp_path / "nothing"), str(path)]) == 2
    assert not (tmp_path / "f.csv").exists()
