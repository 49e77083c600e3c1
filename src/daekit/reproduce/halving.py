"""Successive halving over the grid of a cell (Jamieson & Talwalkar, AISTATS 2016), as
scikit-learn's ``HalvingGridSearchCV`` does it.

With n grid points and reduction ``factor`` η, the search has R = 1 + ⌊log_η n⌋ rungs. Rung k
(k = 0 … R − 1) trains ⌈n / η^k⌉ candidates with the fraction η^(k − R + 1) of the budget (the
last rung: the budget itself) and keeps the ⌈1/η⌉ of them with the lowest validation error
(ties: validation cross-entropy, then grid order) for the next. The budget's fraction scales
the networks' pretraining epochs, fine-tuning epoch cap and patience, and the number of
examples each SVM of the grid is fitted on. Selection uses the validation set only (the early
rungs' networks are not evaluated on the test set at all); the cell
reports the test error of the candidate selected at the last rung — computed exactly as the
full grid computes that point (same key, same seed), so the two searches can be compared point
for point — and its trials hold every rung's points (``resource`` < 1 on the early ones), so
its ``seconds`` are the search's whole training time.
"""

from __future__ import annotations

import math
from typing import Any

from .grid import Plan, grid_candidates, point_tasks
from .tasks import CellSpec, CellTask
from .trials import selection_key


def halving_rungs(n_candidates: int, factor: int) -> list[tuple[int, float]]:
    """``(candidates, fraction of the budget)`` of each rung for ``n_candidates`` grid points."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
        raise ValueError(f"halving factor must be an integer >= 2, got {factor!r}")
    n_rungs = 1
    while factor**n_rungs <= n_candidates:
        n_rungs += 1
    return [(math.ceil(n_candidates / factor**k), float(factor) ** (k - n_rungs + 1)) for k in range(n_rungs)]


def halving_search(factor: int) -> tuple[tuple[str, Any], ...]:
    """The ``search`` of a :class:`~daekit.reproduce.tasks.CellSpec` for successive halving."""
    halving_rungs(1, factor)  # validates the factor
    return (("method", "halving"), ("factor", factor))


class HalvingPlan:
    """Successive halving over the grid of ``cell``: one stage per rung, then the cell."""

    def __init__(self, cell: CellSpec, n_train: int, n_features: int) -> None:
        self.cell, self.n_train, self.n_features = cell, n_train, n_features
        self.candidates = grid_candidates(cell)
        assert cell.search is not None, "a halving plan needs a cell with a search (halving_search)"
        self.rungs = halving_rungs(len(self.candidates), dict(cell.search)["factor"])
        self.n_points = sum(n for n, _ in self.rungs)

    def stages(self) -> Plan:
        candidates, seen, final = list(self.candidates), [], []
        for k, (_, resource) in enumerate(self.rungs):
            tasks = point_tasks(self.cell, candidates, resource, self.n_train, self.n_features)
            outcomes = yield tasks
            final = [key for t in tasks for key in t.keys()]
            seen += final
            if any(o["status"] == "failed" for o in outcomes) or k == len(self.rungs) - 1:
                break
            records = {key: r for t, o in zip(tasks, outcomes) for key, r in zip(t.keys(), o["records"])}
            params = [p for t in tasks for p in t.point_params()]  # in the order of ``final``
            ranked = sorted(range(len(final)), key=lambda i: selection_key(records[final[i]]))
            candidates = [params[i] for i in sorted(ranked[: self.rungs[k + 1][0]])]
        yield [CellTask(self.cell, tuple(seen), tuple(final))]
