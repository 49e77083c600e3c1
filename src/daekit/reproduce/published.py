"""What Vincent et al. (2010) Table 3 holds: its data sets, models and published test errors, and
the names a user may give them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: The one reproduction implemented so far (the positional argument of ``daekit reproduce``).
PAPER = "vincent2010"

#: Data sets in the order of the paper's table (names of :func:`daekit.datasets.variants.load_variant`).
DATASETS = (
    "mnist",
    "mnist-basic",
    "mnist-rot",
    "mnist-back-rand",
    "mnist-back-image",
    "mnist-rot-back-image",
    "rectangles",
    "rectangles-images",
    "convex",
)

#: The paper's short names of the data sets (also accepted as aliases).
DATASET_LABELS = {
    "mnist": "MNIST",
    "mnist-basic": "basic",
    "mnist-rot": "rot",
    "mnist-back-rand": "bg-rand",
    "mnist-back-image": "bg-img",
    "mnist-rot-back-image": "bg-img-rot",
    "rectangles": "rect",
    "rectangles-images": "rect-img",
    "convex": "convex",
}

MODELS = ("SVMrbf", "SAA-3", "DBN-3", "SdA-3")
_MODEL_ALIASES = {
    "svm": "SVMrbf",
    "svmrbf": "SVMrbf",
    "saa": "SAA-3",
    "saa-3": "SAA-3",
    "saa3": "SAA-3",
    "dbn": "DBN-3",
    "dbn-3": "DBN-3",
    "dbn3": "DBN-3",
    "sda": "SdA-3",
    "sda-3": "SdA-3",
    "sda3": "SdA-3",
}

#: Masking noise levels ν among which SdA-3's is chosen on validation (Vincent et al. 2010, §5.1).
NOISE_LEVELS = (0.10, 0.25, 0.40)


@dataclass(frozen=True)
class Published:
    """A published test error (in %) and, for SdA-3, the noise level ν chosen in the paper."""

    error: float
    noise: float | None = None
    source: str = "JMLR 2010, Table 3"


_JMLR, _ICML = "JMLR 2010, Table 3", "ICML 2008, Table 1"


def _row(svm: float, saa: float, dbn: float, sda: float, nu: float, source: str = _JMLR) -> dict[str, Published]:
    return {
        "SVMrbf": Published(svm, None, source),
        "SAA-3": Published(saa, None, source),
        "DBN-3": Published(dbn, None, source),
        "SdA-3": Published(sda, nu, source),
    }


#: Published test errors (%): Vincent et al. (JMLR 2010) Table 3, except ``convex`` (ICML 2008 Table 1).
PUBLISHED: dict[str, dict[str, Published]] = {
    "mnist": _row(1.40, 1.40, 1.24, 1.28, 0.25),
    "mnist-basic": _row(3.03, 3.46, 3.11, 2.84, 0.10),
    "mnist-rot": _row(11.11, 10.30, 10.30, 9.53, 0.25),
    "mnist-back-rand": _row(14.58, 11.28, 6.73, 10.30, 0.40),
    "mnist-back-image": _row(22.61, 23.00, 16.31, 16.68, 0.25),
    "mnist-rot-back-image": _row(55.18, 51.93, 47.39, 43.76, 0.25),
    "rectangles": _row(2.15, 2.41, 2.60, 1.99, 0.10),
    "rectangles-images": _row(24.04, 24.05, 22.50, 21.59, 0.25),
    "convex": _row(19.13, 18.41, 18.63, 19.06, 0.10, _ICML),
}

#: Test-set sizes of the papers (for the published numbers' 95% intervals).
PAPER_TEST_SIZES = {name: (10_000 if name == "mnist" else 50_000) for name in DATASETS}


def _names(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        items = [t.strip() for t in value.split(",")]
    else:
        try:
            items = [str(t).strip() if isinstance(t, str) else t for t in value]
        except TypeError:
            raise ValueError(f"{name} must be 'all' or a comma-separated list of names, got {value!r}") from None
    if not items or any(not isinstance(t, str) or not t for t in items):
        raise ValueError(f"{name} must be 'all' or a comma-separated list of names, got {value!r}")
    return items


def resolve_datasets(datasets: str | Sequence[str] = "all") -> list[str]:
    """Data set names (in the table's order) from ``"all"``, names or the paper's short names
    (``"basic"``, ``"bg-img-rot"``, ``"rect"``, …), comma-separated or as a list."""
    items = _names(datasets, "datasets")
    if [t.lower() for t in items] == ["all"]:
        return list(DATASETS)
    aliases = {**{n: n for n in DATASETS}, **{v.lower(): k for k, v in DATASET_LABELS.items()}}
    chosen = set()
    for t in items:
        if t.lower() not in aliases:
            raise ValueError(
                f"datasets: unknown data set {t!r}; choose 'all' or from "
                f"{', '.join(DATASETS)} (or {', '.join(DATASET_LABELS.values())})"
            )
        chosen.add(aliases[t.lower()])
    return [n for n in DATASETS if n in chosen]


def resolve_models(models: str | Sequence[str] = "all") -> list[str]:
    """Model names (in the table's order) from ``"all"`` or names such as ``"sda"``, ``"SdA-3"``."""
    items = _names(models, "models")
    if [t.lower() for t in items] == ["all"]:
        return list(MODELS)
    chosen = set()
    for t in items:
        key = t.lower()
        if key not in _MODEL_ALIASES:
            raise ValueError(f"models: unknown model {t!r}; choose 'all' or from {', '.join(MODELS)}")
        chosen.add(_MODEL_ALIASES[key])
    return [m for m in MODELS if m in chosen]
