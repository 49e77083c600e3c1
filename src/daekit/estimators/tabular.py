"""Mixed-type tables as model inputs: numeric columns standardized, categorical ones one-hot.

:class:`TableEncoder` turns a pandas DataFrame (numeric, boolean and categorical/string columns)
or a numeric array into a float32 matrix, a per-column mask of observed entries and the layout
the mixed-type reconstruction (:class:`daekit.distributions.MixedTypeLikelihood`) needs, and turns
reconstructions back into columns of the original types. Missing entries (NaN, None, pd.NA)
are encoded as 0 (the mean of a standardized column, an all-zero one-hot block) and flagged as
unobserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..distributions import MixedTypeLikelihood

__all__ = ["ColumnSpec", "TableEncoder", "is_dataframe", "needs_table_path"]


def is_dataframe(X: Any) -> bool:
    """Whether ``X`` is a pandas DataFrame (without importing pandas when it is not loaded)."""
    return type(X).__module__.startswith("pandas") and hasattr(X, "columns") and hasattr(X, "dtypes")


def needs_table_path(X: Any) -> bool:
    """A DataFrame with a column that scikit-learn's numeric validation would not take as is:
    boolean, categorical, string or object columns."""
    if not is_dataframe(X):
        return False
    import pandas as pd

    return any(not (pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)) for t in X.dtypes)


@dataclass
class ColumnSpec:
    """One source column: its name, kind, scaling or categories, and encoded range [start, stop)."""

    name: str
    kind: str  # "numeric" or "categorical"
    start: int
    stop: int
    mean: float = 0.0
    scale: float = 1.0
    categories: list = field(default_factory=list)
    dtype: Any = None


def _label(name: Any) -> str:
    return repr(name) if isinstance(name, str) else f"{name!r}"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


class TableEncoder:
    """Encode the columns of a table for a denoising autoencoder.

    Parameters
    ----------
    categorical, numeric : sequence of column names or None
        Override the inferred kind of these columns. By default numeric dtypes are numeric and
        boolean, category, string and object columns (of strings) are categorical.
    scale : bool, default True
        Standardize numeric columns to zero mean and unit variance (over observed entries).
    handle_unknown : {"error", "ignore"}, default "error"
        A category not seen in ``fit``: raise, or treat the entry as missing.
    """

    def __init__(
        self,
        categorical: Sequence | None = None,
        numeric: Sequence | None = None,
        scale: bool = True,
        handle_unknown: str = "error",
    ) -> None:
        if handle_unknown not in ("error", "ignore"):
            raise ValueError(f"handle_unknown must be 'error' or 'ignore', got {handle_unknown!r}")
        self.categorical = list(categorical or [])
        self.numeric = list(numeric or [])
        both = set(map(str, self.categorical)) & set(map(str, self.numeric))
        if both:
            raise ValueError(f"columns {sorted(both)} are listed as both categorical and numeric")
        self.scale = bool(scale)
        self.handle_unknown = handle_unknown

    # -- reading columns ------------------------------------------------------------------------
    @staticmethod
    def _columns(X: Any) -> tuple[list, list[np.ndarray], list]:
        """(names, one object/float array per column, dtypes) of a DataFrame or 2-D array."""
        if is_dataframe(X):
            names = list(X.columns)
            return names, [X.iloc[:, j].to_numpy() for j in range(X.shape[1])], list(X.dtypes)
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {arr.shape}")
        return (
            [f"x{j}" for j in range(arr.shape[1])],
            [arr[:, j] for j in range(arr.shape[1])],
            [arr.dtype] * arr.shape[1],
        )

    @staticmethod
    def _missing(values: np.ndarray) -> np.ndarray:
        if values.dtype.kind in "fc":
            return np.isnan(values)
        if values.dtype.kind in "iub":
            return np.zeros(values.shape, dtype=bool)
        import pandas as pd

        return np.asarray(pd.isna(values), dtype=bool)

    def _numeric_values(self, name: Any, values: np.ndarray) -> np.ndarray:
        missing = self._missing(values)
        if values.dtype.kind in "iufb":
            out = values.astype(np.float64)
        else:
            for i in np.flatnonzero(~missing):
                if not _is_number(values[i]):
                    raise ValueError(
                        f"column {_label(name)} is numeric but holds {values[i]!r} (row {i}); "
                        "fix the value or declare the column categorical"
                    )
            out = np.where(missing, np.nan, values).astype(np.float64)
        out[missing] = np.nan
        if np.isinf(out).any():
            raise ValueError(f"column {_label(name)} holds an infinite value")
        return out

    def _infer_kind(self, name: Any, values: np.ndarray, dtype: Any) -> str:
        if name in self.categorical:
            return "categorical"
        if name in self.numeric:
            return "numeric"
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            return "numeric"
        import pandas as pd

        if (
            pd.api.types.is_bool_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
            or (pd.api.types.is_string_dtype(dtype) and dtype != object)  # noqa: E721 (the object dtype)
        ):
            return "categorical"
        if pd.api.types.is_numeric_dtype(dtype):
            return "numeric"
        present = [v for v, m in zip(values, self._missing(values)) if not m]
        numbers = [v for v in present if _is_number(v)]
        if numbers and len(numbers) < len(present):
            other = next(v for v in present if not _is_number(v))
            raise ValueError(
                f"column {_label(name)} mixes numbers and other values (e.g. {other!r}); "
                "clean it or name it in categorical= or numeric="
            )
        return "numeric" if numbers else "categorical"

    # -- fit / transform ------------------------------------------------------------------------
    def fit(self, X: Any) -> TableEncoder:
        names, columns, dtypes = self._columns(X)
        if not columns or len(columns[0]) == 0:
            raise ValueError(f"X must have at least one row and one column, got shape {np.shape(X)}")
        unknown = [c for c in self.categorical + self.numeric if c not in names]
        if unknown:
            raise ValueError(f"columns {unknown} named in categorical=/numeric= are not in X")
        specs, start = [], 0
        for name, values, dtype in zip(names, columns, dtypes):
            missing = self._missing(values)
            if missing.all():
                raise ValueError(f"column {_label(name)} has no observed value; drop it")
            if self._infer_kind(name, values, dtype) == "numeric":
                v = self._numeric_values(name, values)
                mean, std = (float(np.nanmean(v)), float(np.nanstd(v))) if self.scale else (0.0, 1.0)
                specs.append(
                    ColumnSpec(str(name), "numeric", start, start + 1, mean, std if std > 0 else 1.0, dtype=dtype)
                )
                start += 1
            else:
                cats = sorted(set(values[~missing].tolist()), key=lambda c: (str(type(c)), c))
                specs.append(
                    ColumnSpec(str(name), "categorical", start, start + len(cats), categories=cats, dtype=dtype)
                )
                start += len(cats)
        self.names_ = names
        self.columns_ = specs
        self.n_encoded_ = start
        self.column_of_ = np.concatenate([np.full(s.stop - s.start, j) for j, s in enumerate(specs)])
        return self

    def transform(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """(Z, observed): the encoded float32 matrix (n, n_encoded_) and the observed-entry mask
        (n, n_columns) of ``X``."""
        names, columns, _ = self._columns(X)
        if [str(n) for n in names] != [s.name for s in self.columns_]:
            raise ValueError(f"X has columns {names}, expected {[s.name for s in self.columns_]}")
        n = len(columns[0])
        Z = np.zeros((n, self.n_encoded_), dtype=np.float32)
        observed = np.ones((n, len(self.columns_)), dtype=bool)
        for j, (spec, values) in enumerate(zip(self.columns_, columns)):
            missing = self._missing(values)
            if spec.kind == "numeric":
                v = (self._numeric_values(spec.name, values) - spec.mean) / spec.scale
                Z[:, spec.start] = np.where(missing, 0.0, v)
            else:
                lookup = {c: k for k, c in enumerate(spec.categories)}
                for i in np.flatnonzero(~missing):
                    k = lookup.get(values[i])
                    if k is None:
                        if self.handle_unknown == "error":
                            raise ValueError(
                                f"column {_label(spec.name)} holds the category {values[i]!r} (row {i}), "
                                f"not seen in fit (known: {spec.categories}); pass handle_unknown='ignore' "
                                "to treat it as missing"
                            )
                        missing[i] = True
                    else:
                        Z[i, spec.start + k] = 1.0
            observed[:, j] = ~missing
        return Z, observed

    def expand(self, by_column: np.ndarray) -> np.ndarray:
        """A per-column array (n, n_columns) repeated over each column's encoded positions."""
        return by_column[:, self.column_of_]

    def decode(self, Z: np.ndarray) -> list[np.ndarray]:
        """Columns from encoded values (reconstruction means or draws): numeric ones unscaled,
        categorical ones as the most probable (or drawn) category."""
        out = []
        for spec in self.columns_:
            block = Z[:, spec.start : spec.stop]
            if spec.kind == "numeric":
                out.append(block[:, 0].astype(np.float64) * spec.scale + spec.mean)
            else:
                cats = np.empty(len(spec.categories), dtype=object)
                cats[:] = spec.categories
                out.append(cats[np.argmax(block, axis=1)] if len(Z) else cats[:0])
        return out

    def likelihood(self) -> MixedTypeLikelihood:
        """The mixed-type reconstruction distribution over this encoding (unit variances)."""
        numeric = [s.start for s in self.columns_ if s.kind == "numeric"]
        blocks = [(s.start, s.stop) for s in self.columns_ if s.kind == "categorical"]
        return MixedTypeLikelihood(numeric, blocks, len(self.columns_), self.column_of_.tolist())

    @property
    def all_numeric(self) -> bool:
        return all(s.kind == "numeric" for s in self.columns_)
