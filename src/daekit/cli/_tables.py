"""Reading and writing tables for the CLI: CSV or Parquet by file suffix, column kinds overridable."""

from __future__ import annotations

import io
from pathlib import Path

from ..utils.atomic import atomic_path, atomic_write_bytes

SUFFIXES = (".csv", ".parquet", ".pq")


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        from . import CLIError

        raise CLIError("reading and writing tables needs pandas and pyarrow: pip install 'daekit[tables]'") from None
    return pd


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"table files must end in {', '.join(SUFFIXES)}, got {str(path)!r}")
    return "csv" if suffix == ".csv" else "parquet"


def _names(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def read_table(path: str, categorical: str | None = None, numeric: str | None = None):
    """A DataFrame from a CSV or Parquet file; ``categorical`` / ``numeric`` are comma-separated
    column names whose inferred kind is overridden."""
    pd = _pandas()
    p = Path(path)
    kind = _kind(p)
    if not p.is_file():
        raise FileNotFoundError(f"no such table: {path}")
    df = pd.read_csv(p) if kind == "csv" else pd.read_parquet(p)
    for name in _names(categorical) + _names(numeric):
        if name not in df.columns:
            raise ValueError(f"column {name!r} is not in {path} (columns: {list(df.columns)})")
    for name in _names(categorical):
        df[name] = df[name].astype("category")
    for name in _names(numeric):
        try:
            df[name] = pd.to_numeric(df[name])
        except (ValueError, TypeError) as exc:
            raise ValueError(f"column {name!r} was declared numeric but {exc}") from None
    return df


def write_table(df, path: str) -> None:
    """Write ``df`` atomically as CSV or Parquet (by suffix); no half-written file on failure."""
    p = Path(path)
    kind = _kind(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        atomic_write_bytes(p, buf.getvalue().encode())
    else:
        with atomic_path(p) as tmp:
            df.to_parquet(tmp, index=False)
