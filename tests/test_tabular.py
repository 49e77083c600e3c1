import numpy as np
import pandas as pd
import pytest
import torch

from daekit.distributions import MixedTypeLikelihood
from daekit.estimators import DenoisingAutoencoderOutlierDetector, DenoisingImputer
from daekit.estimators.tabular import TableEncoder


def table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame(
        {
            "age": a * 10 + 40,
            "income": 3 * a + rng.normal(scale=0.5, size=n),
            "colour": pd.Series(np.where(a > 0, "red", "blue"), dtype=object),
            "member": a > 0.5,
            "size": pd.Categorical(np.where(a > 1, "L", "S")),
        }
    )


def test_encoder_layout_standardization_and_round_trip():
    df = table()
    enc = TableEncoder().fit(df)
    assert [s.kind for s in enc.columns_] == ["numeric", "numeric", "categorical", "categorical", "categorical"]
    assert enc.n_encoded_ == 2 + 2 + 2 + 2
    Z, observed = enc.transform(df)
    assert observed.all()
    np.testing.assert_allclose(Z[:, 0].mean(), 0, atol=1e-6)
    np.testing.assert_allclose(Z[:, 0].std(), 1, atol=1e-5)
    assert np.all(Z[:, 2:4].sum(1) == 1)
    back = enc.decode(Z)
    np.testing.assert_allclose(back[0], df["age"], rtol=1e-5)
    assert list(back[2]) == list(df["colour"])
    assert list(back[3]) == list(df["member"])


def test_missing_entries_are_zero_and_unobserved():
    df = table()
    df.loc[3, "income"] = np.nan
    df.loc[4, "colour"] = None
    enc = TableEncoder().fit(df)
    Z, observed = enc.transform(df)
    assert not observed[3, 1] and not observed[4, 2] and observed.sum() == observed.size - 2
    assert Z[3, 1] == 0 and np.all(Z[4, 2:4] == 0)


def test_unseen_category_error_or_ignored():
    df = table()
    new = df.copy()
    new.loc[0, "colour"] = "green"
    with pytest.raises(ValueError, match="'colour'.*'green'"):
        TableEncoder().fit(df).transform(new)
    Z, observed = TableEncoder(handle_unknown="ignore").fit(df).transform(new)
    assert not observed[0, 2] and np.all(Z[0, 2:4] == 0)
    det = DenoisingAutoencoderOutlierDetector(max_epochs=2, random_state=0).fit(df)
    with pytest.raises(ValueError, match="green"):
        det.score_samples(new)


def test_clear_errors_name_the_column():
    df = table()
    df["empty"] = np.nan
    with pytest.raises(ValueError, match="'empty' has no observed value"):
        TableEncoder().fit(df)
    mixed = table()
    mixed["age"] = mixed["age"].astype(object)
    mixed.loc[2, "age"] = "forty"
    with pytest.raises(ValueError, match="'age' mixes numbers"):
        TableEncoder().fit(mixed)
    with pytest.raises(ValueError, match="'age' is numeric but holds 'forty'"):
        TableEncoder(numeric=["age"]).fit(mixed)
    with pytest.raises(ValueError, match="0 sample"):
        DenoisingImputer(max_epochs=1).fit(table().iloc[:0])


def test_mixed_likelihood_is_gaussian_plus_softmax_cross_entropy():
    g = torch.Generator().manual_seed(0)
    lik = MixedTypeLikelihood(
        numeric=[0, 3], blocks=[(1, 3), (4, 7)], n_columns=4, column_of=[0, 1, 1, 2, 3, 3, 3], variances=[1.0, 4.0]
    )
    params = torch.randn(5, 7, generator=g, dtype=torch.float64)
    x = torch.zeros(5, 7, dtype=torch.float64)
    x[:, 0], x[:, 3] = torch.randn(5, generator=g), torch.randn(5, generator=g)
    x[torch.arange(5), 1 + torch.randint(0, 2, (5,), generator=g)] = 1
    x[torch.arange(5), 4 + torch.randint(0, 3, (5,), generator=g)] = 1
    by_col = lik.columnwise_loss(x, params)
    expect_num = 0.5 * (x[:, 0] - params[:, 0]) ** 2
    expect_ce = torch.nn.functional.cross_entropy(params[:, 4:7], x[:, 4:7].argmax(1), reduction="none")
    torch.testing.assert_close(by_col[:, 0], expect_num)
    torch.testing.assert_close(by_col[:, 2], 0.5 * (x[:, 3] - params[:, 3]) ** 2 / 4)
    torch.testing.assert_close(by_col[:, 3], expect_ce)
    torch.testing.assert_close(lik.loss(x, params), by_col.sum(1))
    mean = lik.mean(params)
    torch.testing.assert_close(mean[:, 1:3].sum(1), torch.ones(5, dtype=torch.float64))
    draws = lik.sample(params.repeat(4000, 1), torch.Generator().manual_seed(1))
    torch.testing.assert_close(draws[:, 3].var(), torch.tensor(4.0, dtype=torch.float64), rtol=0.1, atol=0)
    assert torch.all(draws[:, 4:7].sum(1) == 1)


def test_set_output_pandas_round_trips_names_and_dtypes():
    df = table()
    df.loc[[1, 5], "income"] = np.nan
    df.loc[2, "colour"] = None
    imp = DenoisingImputer(n_components=8, max_epochs=3, random_state=0).set_output(transform="pandas")
    out = imp.fit(df).transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(df.columns) == list(imp.get_feature_names_out())
    for name in ["age", "income", "member"]:
        assert out[name].dtype == df[name].dtype
    assert out["colour"].iloc[2] in ("red", "blue")
    assert out.isna().sum().sum() == 0


def test_denoising_autoencoder_names_its_outputs_for_set_output():
    from daekit import DenoisingAutoencoder

    X = np.random.default_rng(0).uniform(size=(30, 5))
    dae = DenoisingAutoencoder(n_components=3, max_epochs=1, random_state=0).set_output(transform="pandas").fit(X)
    out = dae.transform(pd.DataFrame(X, columns=list("abcde")))
    assert list(out.columns) == ["denoisingautoencoder0", "denoisingautoencoder1", "denoisingautoencoder2"]
    np.testing.assert_allclose(out.to_numpy(), dae.set_output(transform="default").transform(X), rtol=1e-6)
