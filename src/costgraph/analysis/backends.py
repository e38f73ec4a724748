"""Past one process: sweeps and uncertainty as dask array blocks over the compiled function.

``backend="dask"`` (``--backend dask``) splits the points into blocks of ``BLOCK`` and lets
dask evaluate them: on its local threaded scheduler by default, or on a dask.distributed
cluster given by address (``scheduler="tcp://host:8786"``). A block carries only plain data
(the rules folder, the query, the axes' values or the draws' seed): each worker loads the
rules and compiles the query once, then evaluates block after block, so nothing of a model
is pickled. Workers need costgraph and the same rules folder at the same path.

The answers are the single-process ones, value for value: a block of a sweep is the same
slice of the grid, and a block of draws reproduces the same random numbers (each input's
stream advanced to the block's first sample).
"""

from __future__ import annotations

import threading
from pathlib import Path
from dataclasses import dataclass

import numpy as np

from ..errors import MissingExtraError, QueryError

BACKENDS = ("numpy", "dask")
BLOCK = 1_048_576  # points per dask block: large enough that scheduling is a small cost


def check_backend(backend: str, scheduler: str | None = None) -> None:
    if backend not in BACKENDS:
        raise QueryError("backend", f"{backend!r} is not a backend; choose one of "
                                    f"{', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise QueryError("scheduler", "a scheduler address needs backend='dask'")
    if backend == "dask":
        require_dask(distributed=scheduler is not None)


def require_dask(distributed: bool = False):
    try:
        import dask.array  # noqa: F401
        if distributed:
            import dask.distributed  # noqa: F401
    except ImportError:
        raise MissingExtraError("the dask backend", "dask", "dask[array,distributed]") from None


@dataclass(frozen=True)
class SweepSpec:
    """A sweep as plain data a worker can rebuild it from."""

    rules: str
    vary: tuple  # (name, values as a list or array) pairs
    find: tuple[str, ...]
    given: tuple
    presets: tuple | None
    constraints: object

    def key(self):
        return (self.rules, tuple((n, np.asarray(v).tobytes() if not isinstance(v, str) else v)
                                  for n, v in self.vary), self.find,
                self.given, self.presets, repr(self.constraints))


_LOCAL = threading.local()
_WORKER_CACHE: dict = {}
_WORKER_LOCK = threading.Lock()


def _worker_engine(rules: str):
    """The engine of the rules folder ``rules`` in a worker (its checked rules from the disk
    cache when it holds them): workers get a path, never a pickled model."""
    from ..core.engine import Engine
    from ..diskcache import cached_ruleset
    from ..lang.rules import load_ruleset

    key = ("engine", rules)
    engine = _WORKER_CACHE.get(key)
    if engine is None:
        engine = Engine(cached_ruleset(Path(rules), load_ruleset))
        with _WORKER_LOCK:
            engine = _WORKER_CACHE.setdefault(key, engine)
    return engine


def _worker_grid(spec: SweepSpec):
    """The Grid of ``spec``, built once per worker process."""
    key = spec.key()
    found = _WORKER_CACHE.get(key)
    if found is None:
        from .grid import Grid

        model = _worker_engine(spec.rules)
        grid = Grid(model, dict(spec.vary), list(spec.find), dict(spec.given),
                    None if spec.presets is None else list(spec.presets), spec.constraints)
        with _WORKER_LOCK:
            found = _WORKER_CACHE.setdefault(key, grid)
            while len(_WORKER_CACHE) > 16:
                _WORKER_CACHE.pop(next(iter(_WORKER_CACHE)))
    return found


def _sweep_block(block, spec: SweepSpec, ids: tuple, block_info=None):
    """Rows: each found quantity, then each constraint's slack, for the block's points."""
    start = block_info[0]["array-location"][0][0] if block_info else int(block[0])
    stop = start + len(block)
    grid = _worker_grid(spec)
    out = np.empty((len(spec.find) + len(ids), stop - start))
    for first, last, _, found, slacks in grid.chunks_between(start, stop):
        rows = [found[n] for n in spec.find] + [slacks[c] for c in ids]
        for i, row in enumerate(rows):
            out[i, first - start:last - start] = row
    return out


def _client(scheduler):
    """A dask.distributed Client for ``scheduler`` (an address or a Client), or None."""
    if scheduler is None:
        return None
    from dask.distributed import Client

    if isinstance(scheduler, Client):
        return scheduler
    cached = getattr(_LOCAL, "clients", {})
    client = cached.get(scheduler)
    if client is None or client.status != "running":
        client = Client(scheduler, set_as_default=False)
        cached[scheduler] = client
        _LOCAL.clients = cached
    return client


def compute(array, scheduler=None):
    """``array.compute()`` on the threaded scheduler, or on the cluster at ``scheduler``."""
    client = _client(scheduler)
    if client is None:
        return array.compute(scheduler="threads")
    return client.compute(array).result()


def sweep_arrays(model, grid, scheduler=None, block: int | None = None):
    """``(outputs, margins)``: every point of ``grid`` evaluated as dask blocks."""
    import dask.array as da

    ids = tuple(sorted(grid.constraints))
    spec = SweepSpec(str(model.ruleset.root), tuple((a.name, _axis_values(a))
                                                    for a in grid.axes),
                     tuple(grid.find), tuple(sorted(grid.given.items(), key=lambda kv: kv[0])),
                     None if grid.presets is None else tuple(
                         [grid.presets] if isinstance(grid.presets, str) else grid.presets),
                     plain_constraints(grid.constraints_arg))
    points = da.arange(grid.total, chunks=block or BLOCK, dtype=np.int64)
    rows = len(grid.find) + len(ids)
    table = points.map_blocks(_sweep_block, spec, ids, dtype=float, chunks=(
        (rows,), points.chunks[0]), new_axis=0)
    values = compute(table, scheduler)
    outputs = {n: values[i] for i, n in enumerate(grid.find)}
    margins = {c: values[len(grid.find) + i] for i, c in enumerate(ids)}
    return outputs, margins


def _axis_values(axis):
    if axis.kind == "preset":  # labels: each the presets it applies, joined as sweep reads
        return ",".join(axis.values.tolist())
    return axis.values


# uncertainty ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawSpec:
    """An uncertainty's draws and compiled query as plain data."""

    rules: str
    target: str
    dists: tuple  # InputDistributions, sorted by name: the order of the random streams
    seed: int
    samples: int
    given: tuple
    presets: tuple | None
    constraints: object


def draws(dists, seed: int, samples: int, start: int, stop: int) -> dict:
    """Each input's probability levels for samples ``start:stop``, as one pass draws them.

    ``default_rng(seed)`` gives every input ``samples`` levels in turn (inputs sorted by
    name); the block's levels are found by advancing the generator to them.
    """
    out = {}
    for j, d in enumerate(dists):
        bits = np.random.PCG64(seed)
        bits.advance(j * samples + start)
        out[d.name] = np.random.Generator(bits).random(stop - start)
    return out


def _draw_block(block, spec: DrawSpec, ids: tuple, block_info=None):
    start = block_info[0]["array-location"][0][0] if block_info else int(block[0])
    stop = start + len(block)
    key = ("draws", spec.rules, spec.target, spec.given, spec.presets, repr(spec.constraints),
           tuple(d.name for d in spec.dists))
    f = _WORKER_CACHE.get(key)
    if f is None:
        from ..core.compile_cache import compiled

        f = compiled(_worker_engine(spec.rules), spec.target, [d.name for d in spec.dists],
                     given=dict(spec.given), presets=None if spec.presets is None
                     else list(spec.presets), constraints=spec.constraints)
        with _WORKER_LOCK:
            f = _WORKER_CACHE.setdefault(key, f)
    levels = draws(spec.dists, spec.seed, spec.samples, start, stop)
    drawn = {d.name: d.quantile(levels[d.name]) for d in spec.dists}
    found, slacks = f.evaluate(**drawn)
    rows = [np.asarray(found[spec.target], dtype=float)]
    rows += [np.where(slacks[c] >= 0, 0.0, 1.0) for c in ids]  # 1 where it breaks (NaN too)
    return np.stack([np.broadcast_to(r, (stop - start,)) for r in rows])


def uncertainty_arrays(model, f, target, dists, seed, samples, given, presets, constraints,
                       scheduler=None, block: int | None = None):
    """``(values, violations)`` of ``samples`` draws, evaluated as dask blocks."""
    import dask.array as da

    ids = tuple(c.id for c in f.constraints)
    spec = DrawSpec(str(model.ruleset.root), target, tuple(dists), int(seed), int(samples),
                    tuple(sorted((given or {}).items())),
                    None if presets is None else tuple(
                        [presets] if isinstance(presets, str) else presets),
                    plain_constraints(constraints))
    points = da.arange(samples, chunks=block or BLOCK, dtype=np.int64)
    table = points.map_blocks(_draw_block, spec, ids, dtype=float,
                              chunks=((1 + len(ids),), points.chunks[0]), new_axis=0)
    values = compute(table, scheduler)
    return values[0], {c: values[1 + i] > 0.5 for i, c in enumerate(ids)}


def plain_constraints(constraints):
    """Constraints as data a worker can rebuild them from: ids and text, not objects."""
    if isinstance(constraints, str):
        return constraints
    out = []
    for c in constraints:
        out.append(c if isinstance(c, str) else c.expr.text if c.file == "<query>" else c.id)
    return tuple(out)


