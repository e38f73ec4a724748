"""The public façade: ``load()`` a rules folder into a Model, the engine with its questions.

>>> import costgraph as cg
>>> model = cg.load()
>>> r = model.solve(find=["kv_bytes_per_token"], presets=["llama-3-70b", "bf16"])
>>> r["kv_bytes_per_token"]
<Quantity(327680.0, 'byte / token')>
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import diskcache
from .core.engine import Engine
from .errors import Problem, RuleSetError, UnknownSourceError
from .lang.bibliography import SourceEntry
from .lang.folders import bundled_rules_path
from .lang.rules import fingerprint, load_ruleset

if TYPE_CHECKING:
    from .analysis.levers import LeverTable
    from .analysis.pareto import ParetoResult
    from .analysis.seek.result import SeekResult
    from .analysis.sweep import SweepResult
    from .analysis.uncertainty import UncertaintyResult
    from .audit.verdicts import AuditReport
    from .validation.calibrate import CalibrationReport
    from .validation.validate import ValidationReport




_CACHE: dict[Path, tuple[tuple, "Model"]] = {}  # folder -> (fingerprint, model)


def load(path: str | Path | None = None, *, cache: bool = True) -> "Model":
    """Load a rules folder (default: the bundled rules) and return a Model.

    With ``cache``, a folder loaded before gives the same Model while its files are
    unchanged: every file's path, size and modification time are compared (one ``stat``
    each), and any file added, removed or changed loads the folder again.
    Across processes, the checked rules are also kept on disk (see ``costgraph.diskcache``:
    ``COSTGRAPH_CACHE_DIR`` moves it, ``COSTGRAPH_NO_CACHE=1`` turns it off), keyed by a
    hash of every file in the folder and the package's version; ``cache=False`` reads and
    checks the files afresh.

    Raises ``RuleSetError`` listing every problem in every file at once.
    """
    root = _rules_folder(path)
    stamp = fingerprint(root) if cache else None
    if stamp is None:  # not cached, or the folder is gone (load_ruleset says so)
        _CACHE.pop(root, None)
    elif root in _CACHE and _CACHE[root][0] == stamp:
        return _CACHE[root][1]
    # with cache, the checked rules come from disk while the folder's files are unchanged
    model = Model(diskcache.cached_ruleset(root, load_ruleset) if cache else load_ruleset(root))
    if stamp is not None:
        _CACHE[root] = (stamp, model)
    return model


def _rules_folder(path) -> Path:
    if path is None:
        return bundled_rules_path()
    if not isinstance(path, (str, os.PathLike)):
        raise RuleSetError([Problem(repr(path), "", "a rules folder is a path (str or "
                                                    "pathlib.Path)")])
    try:
        return Path(path).resolve()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long, a symlink loop
        reason = getattr(exc, "strerror", None) or exc
        raise RuleSetError([Problem(str(path)[:200], "", f"not a usable path: {reason}")]) from None


@dataclass(frozen=True)
class QuantityInfo:
    name: str
    unit: str
    description: str
    kind: str  # "input" or "derived"
    rule: str | None
    source: str | None
    bounds: tuple
    integer: bool
    file: str


class Model(Engine):
    """A loaded, checked rule set: the engine, and the questions asked of it.

    ``solve`` and ``compile`` come from ``Engine``; each question below runs the analysis
    of its own module on this engine.
    """

    # questions built on solve and compile; each lives in its own module ------------------

    def seek(self, maximize: str | None = None, minimize: str | None = None, where=(),
             vary: dict | None = None, given: dict | None = None, presets=None, *,
             subject_to=()) -> SeekResult:
        """Maximise or minimise a quantity under constraints (see ``costgraph.analysis.seek``)."""
        from .analysis.seek.run import seek

        return seek(self, maximize, minimize, where, vary, given, presets,
                    subject_to=subject_to)

    def audit(self, claims, presets=None) -> AuditReport:
        """Check a claims file or mapping claim by claim (see ``costgraph.audit``)."""
        from .audit.verdicts import audit

        return audit(self, claims, presets)

    def validate(self, files=None, presets=()) -> ValidationReport:
        """Predict measured points and report each error (see ``costgraph.validation.validate``)."""
        from .validation.validate import validate

        return validate(self, files, presets)

    def calibrate(self, files=None, fit=(), presets=(), loo=False) -> CalibrationReport:
        """Fit input quantities to measured points (see ``costgraph.validation.calibrate``)."""
        from .validation.calibrate import calibrate

        return calibrate(self, files, fit, presets, loo)

    def sweep(self, vary: Mapping, find, *, given: Mapping | None = None, presets=None,
              constraints="declared", progress: Callable[[int, int], None] | None = None,
              title: str | None = None, backend: str = "numpy", scheduler=None,
              out=None) -> SweepResult:
        """Evaluate ``find`` over the grid of ``vary`` (see ``costgraph.analysis.sweep``):
        in this process or as dask blocks (``backend="dask"``, ``scheduler``), kept or
        streamed to files (``out``)."""
        from .analysis.sweep import sweep

        return sweep(self, vary, find, given=given, presets=presets, constraints=constraints,
                     progress=progress, title=title, backend=backend, scheduler=scheduler,
                     out=out)

    def levers(self, target: str, *, presets=None, given: Mapping | None = None, inputs=None,
               ranges: Mapping | None = None, rank: str = "elasticity",
               include_zero: bool = False) -> LeverTable:
        """Rank the inputs by their elasticity on ``target`` (see ``costgraph.analysis.levers``)."""
        from .analysis.levers import levers

        return levers(self, target, presets=presets, given=given, inputs=inputs, ranges=ranges,
                      rank=rank, include_zero=include_zero)

    def uncertainty(self, target: str, *, samples: int = 100_000, seed: int | None = 0,
                    presets=None, given: Mapping | None = None, inputs=None,
                    constraints="declared",
                    progress: Callable[[int, int], None] | None = None,
                    backend: str = "numpy", scheduler=None) -> UncertaintyResult:
        """Propagate the presets' input ranges to ``target`` (see ``costgraph.analysis.uncertainty``)."""
        from .analysis.uncertainty import uncertainty

        return uncertainty(self, target, samples=samples, seed=seed, presets=presets,
                           given=given, inputs=inputs, constraints=constraints,
                           progress=progress, backend=backend, scheduler=scheduler)

    def pareto(self, x: str, y: str, vary: Mapping, *, subject_to=(), given=None, presets=None,
               maximize=(), progress=None) -> ParetoResult:
        """The non-dominated points of ``x`` against ``y`` (see ``costgraph.analysis.pareto``)."""
        from .analysis.pareto import pareto

        return pareto(self, x, y, vary, subject_to=subject_to, given=given, presets=presets,
                      maximize=maximize, progress=progress)

    # listing and lineage -----------------------------------------------------------------

    def quantities(self) -> list[QuantityInfo]:
        out = []
        for name, q in sorted(self.ruleset.quantities.items()):
            rule = self.ruleset.rule_for(name)
            out.append(QuantityInfo(name, q.unit, q.description,
                                    "input" if rule is None else "derived",
                                    rule.id if rule else None,
                                    rule.source if rule else q.source, (q.low, q.high),
                                    q.integer, q.file))
        return out

    # the bibliography: what the sources cite ---------------------------------------------

    def sources(self, unused: bool = False) -> list[SourceEntry]:
        """Every entry of the rules' bibliography (``sources.yaml``), reserved keys last.

        With ``unused``, only the entries no rule, constraint or preset cites. Empty when
        the rules folder has no bibliography.
        """
        bib = self.ruleset.bibliography
        entries = [] if bib is None else sorted(bib.entries.values(),
                                                key=lambda e: (e.reserved, e.key))
        return [e for e in entries if not (unused and e.cited_by)]

    def source(self, key: str) -> SourceEntry:
        """The bibliography entry ``key`` (brackets optional), with everything citing it."""
        bib = self.ruleset.bibliography
        key = key.strip().removeprefix("[").removesuffix("]")
        if bib is None or key not in bib.entries:
            raise UnknownSourceError(key, bib.keys() if bib else (), bib and bib.file)
        return bib.entries[key]
