"""Measurements files: their schema, the metrics a point may state, and reading them checked.

A measurements file holds what serving software measured on real hardware, point by point:
the presets of the configuration (hardware, model, precision, tensor parallelism), the request
shape (``given``), a metric from ``METRICS`` with the measured value and its unit, the software
and version that measured it, and where it was published (a source in the bibliography's
citation grammar). docs/validation.md documents the format.

Each metric says which quantity of the rules predicts it and how the point is evaluated
(``Metric``); each evaluation names the step whose terms explain the prediction (``STEPS``).
Both tables are data: a new metric or a new per-operator term is one entry.

Reading checks everything that can be checked before predicting and raises one
``MeasurementsFileError`` listing every problem with its point id.

>>> import costgraph as cg
>>> points = read_measurements(cg.load(), {"description": "one point", "points": [
...     {"id": "p", "presets": ["h200", "llama-3.1-70b", "fp8", "tp1"],
...      "given": {"input_len": "128 token", "output_len": "128 token"},
...      "metric": "max_throughput", "value": "3803 token/s", "software": "TensorRT-LLM",
...      "version": "1.0", "source": "[tensorrt-llm-perf-overview-v1.0]"}]}).points
>>> points[0].metric.quantity, points[0].value
('serving_tokens_per_second', <Quantity(3803.0, 'token / second')>)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import pint
import yaml
from pydantic import Field, ValidationError

from ..lang.bibliography import parse_source
from ..errors import CostgraphError, MeasurementsFileError, did_you_mean
from ..lang.schema import Schema, schema_text
from ..units import format_quantity, parse_quantity

if TYPE_CHECKING:
    from ..core.engine import Engine

Raw = Union[str, int, float]
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# --- how a metric maps onto the rules ----------------------------------------------------

BEST_BATCH = "best batch"  # the largest output rate over batches 1..N under every constraint
AT_CONCURRENCY = "at concurrency"  # the quantity at batch = the stated concurrency
CONCURRENCY_QUANTITY = "batch"  # what a point's concurrency sets (and a best batch varies)


@dataclass(frozen=True)
class Step:
    """A predicted time and the terms it is made of, each ``(label, quantity)``.

    A term's share is its time over the total; terms that overlap (memory traffic and
    arithmetic run together) can add up to more than the total. Terms whose quantity the
    rules do not declare are left out; rules that declare none of ``terms`` (a step that is
    one roofline over the whole step) are explained by ``coarse``, its memory and compute times.
    """

    total: str
    terms: tuple[tuple[str, str], ...]
    coarse: tuple[tuple[str, str], ...] = ()

    def declared_terms(self, declared) -> tuple[tuple[str, str], ...]:
        """The finest breakdown the rules declare: the named terms, else the coarse ones."""
        for breakdown in (self.terms, self.coarse):
            found = tuple((label, q) for label, q in breakdown if q in declared)
            if found:
                return found
        return ()


@dataclass(frozen=True)
class Metric:
    """A kind of measurement: the quantity that predicts it and how a point is evaluated."""

    name: str
    quantity: str
    how: str  # BEST_BATCH or AT_CONCURRENCY
    step: str  # the key in STEPS of the step that explains the prediction
    description: str
    # a saturated server's rate at a concurrency: a serving engine admits only the requests
    # its KV pool can hold to their full length and queues the rest, so the batch that runs
    # is the concurrency or the largest below it that every constraint allows
    runs_what_fits: bool = False


STEPS = {
    "serving": Step("serving_step_time", (
        ("matmuls", "serving_gemm_time"), ("LM head", "lm_head_time"),
        ("attention", "serving_attention_time"), ("elementwise", "activation_time"),
        ("prompt chunks", "serving_prefill_time"), ("communication", "serving_tp_comm_time"),
        ("fixed overhead", "step_overhead_time"), ("KV offload", "serving_kv_offload_time")),
        (("memory", "serving_memory_time"), ("compute", "serving_compute_time"))),
    "decode": Step("step_time", (
        ("matmuls", "gemm_time"), ("LM head", "lm_head_time"), ("attention", "attention_time"),
        ("elementwise", "activation_time"), ("communication", "tp_comm_time"),
        ("fixed overhead", "step_overhead_time"), ("KV offload", "kv_offload_time")),
        (("memory", "memory_time"), ("compute", "compute_time"))),
    "prefill": Step("ttft", (
        ("matmuls", "prefill_gemm_time"), ("attention", "prefill_attention_time"),
        ("elementwise", "prefill_activation_time"), ("communication", "prefill_tp_comm_time"),
        ("fixed overhead", "prefill_overhead_time"), ("KV transfer", "kv_transfer_time"))),
}

METRICS = {m.name: m for m in (
    Metric("max_throughput", "serving_tokens_per_second", BEST_BATCH, "serving",
           "output tokens/s of the replica at the best batch every constraint allows "
           "(requests of fixed prompt and output length)"),
    Metric("throughput_at", "serving_tokens_per_second", AT_CONCURRENCY, "serving",
           "output tokens/s of the replica at a stated concurrency", runs_what_fits=True),
    Metric("throughput_per_gpu_at", "serving_tokens_per_second_per_gpu", AT_CONCURRENCY,
           "serving", "output tokens/s per GPU of the replica at a stated concurrency",
           runs_what_fits=True),
    Metric("ttft_at", "ttft", AT_CONCURRENCY, "prefill",
           "time to first token at a stated concurrency"),
    Metric("tpot_at", "tpot", AT_CONCURRENCY, "decode",
           "time per output token at a stated concurrency"),
    Metric("energy_per_token_at", "gpu_energy_per_token", AT_CONCURRENCY, "serving",
           "GPU energy per output token (prompts' prefill included) at a stated concurrency",
           runs_what_fits=True),
    Metric("gpu_power_at", "serving_gpu_power", AT_CONCURRENCY, "serving",
           "average power one GPU of the replica draws over its serving steps at a stated "
           "concurrency", runs_what_fits=True),
)}


# --- the file format ------------------------------------------------------------------------


class GivenSpec(Schema):
    """A given value that is not known exactly: the value used, and the range it may span."""

    value: Raw
    low: Raw | None = None
    high: Raw | None = None
    note: str | None = None


class PointSpec(Schema):
    id: str = Field(min_length=1)
    presets: list[str] | None = None
    stack: str | None = None  # the stack preset of the software measured, after the presets
    given: dict[str, Raw | GivenSpec] = {}
    metric: str | None = None
    concurrency: int | None = Field(default=None, ge=1)
    max_concurrency: int | None = Field(default=None, ge=1)
    replicas: int = Field(default=1, ge=1)
    limits: list[str] = []
    value: Raw
    software: str | None = None
    version: Raw | None = None
    source: str | None = None
    note: str | None = None


class DefaultsSpec(Schema):
    presets: list[str] | None = None
    stack: str | None = None
    given: dict[str, Raw | GivenSpec] = {}
    metric: str | None = None
    max_concurrency: int | None = Field(default=None, ge=1)
    software: str | None = None
    version: Raw | None = None
    source: str | None = None


class MeasurementsFileSpec(Schema):
    """The file's top level; each point is checked on its own (``PointSpec``), so one
    point's mistake hides no other's."""

    description: str = Field(min_length=1)
    defaults: DefaultsSpec = DefaultsSpec()
    points: list[dict] = Field(min_length=1)


# --- the checked, read-only points ----------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """One checked point: a measured value of a metric in a configuration.

    ``given`` holds the values used (a ranged one at its stated value); ``ranges`` the
    ``(low, high)`` of those given with a range.
    """

    id: str
    file: str
    presets: tuple[str, ...]
    metric: Metric
    value: pint.Quantity
    software: str
    version: str
    source: str
    given: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)
    concurrency: int | None = None
    max_concurrency: int | None = None
    replicas: int = 1
    limits: tuple[str, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "file": self.file, "presets": list(self.presets),
                "metric": self.metric.name, "quantity": self.metric.quantity,
                "value": format_quantity(self.value),
                "given": {n: format_quantity(v) for n, v in sorted(self.given.items())},
                "ranges": {n: [format_quantity(lo), format_quantity(hi)]
                           for n, (lo, hi) in sorted(self.ranges.items())},
                "concurrency": self.concurrency, "max_concurrency": self.max_concurrency,
                "replicas": self.replicas, "limits": list(self.limits),
                "software": self.software, "version": self.version, "source": self.source,
                "note": self.note}


@dataclass(frozen=True)
class MeasurementsFile:
    path: str
    description: str
    points: tuple[Measurement, ...]


def validation_set_path() -> Path:
    """Where the validation set shipped with costgraph lives (installed, or in a checkout)."""
    spec = importlib.util.find_spec("costgraph.validation_set")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parents[3] / "validation"


def validation_files() -> list[Path]:
    """The files of the shipped validation set, in name order."""
    return sorted(validation_set_path().glob("*.yaml"))


def read_all(model: Engine, files=None) -> tuple[Measurement, ...]:
    """Every point of ``files`` (default: the validation set), ids unique across them."""
    named = [(f, None) for f in validation_files()] if files is None else \
        [_locate(f) for f in files]
    if not named:
        raise MeasurementsFileError(str(validation_set_path()),
                                    ["no measurements files: name one, e.g. "
                                     "validation/trtllm-v1.0.yaml or trtllm-v1.0"])
    points, where = [], {}
    for f, label in named:
        # the shipped set's points name their file as it sits in a clone: validation/x.yaml
        label = label or (f"validation/{Path(f).name}" if files is None else None)
        mfile = read_measurements(model, f, label)
        clashes = [f"point {p.id}: the id is also used in {where[p.id]}"
                   for p in mfile.points if p.id in where]
        if clashes:
            raise MeasurementsFileError(mfile.path, clashes)
        where.update({p.id: mfile.path for p in mfile.points})
        points.extend(mfile.points)
    return tuple(points)


def _locate(f):
    """A path as it is; a bare name that is no file (``trtllm-v1.0``) from the shipped set."""
    if isinstance(f, (str, Path)) and not Path(f).exists() and len(Path(f).parts) == 1 \
            and Path(f).suffix not in (".yaml", ".yml"):
        shipped = validation_set_path() / f"{f}.yaml"
        if shipped.is_file():
            return shipped, f"validation/{shipped.name}"
        names = ", ".join(p.stem for p in validation_files())
        raise MeasurementsFileError(str(f), [f"no such file, and no file of that name in the "
                                             f"shipped validation set ({names})"])
    return f, None


def read_measurements(model: Engine, measurements, label: str | None = None) -> MeasurementsFile:
    """Read and check a measurements file (a path, or the mapping it holds).

    ``label`` names the file in errors and reports (default: the path as given).
    """
    if isinstance(measurements, (str, Path)):
        path = label or str(measurements)
        try:
            data = yaml.load(Path(measurements).read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
        except OSError as exc:
            raise MeasurementsFileError(path, [f"cannot read the file: {exc.strerror}"]) \
                from None
        except yaml.YAMLError as exc:
            raise MeasurementsFileError(path, ["not valid YAML: " + " ".join(str(exc).split())]) \
                from None
    else:
        path, data = "<mapping>", measurements
    if not isinstance(data, dict):
        raise MeasurementsFileError(path, ["expected a mapping with `description` and `points`"])
    try:
        spec = MeasurementsFileSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():  # a point that is not a mapping is named by its position
            if err["loc"][:1] == ("points",) and len(err["loc"]) > 1:
                problems.append(f"point #{err['loc'][1] + 1}: expected a mapping of keys")
            else:
                problems += _schema_problems([err])
        raise MeasurementsFileError(path, problems) from None
    return _Reader(model, path, spec).run()


class _Reader:
    def __init__(self, model: Engine, path, spec: MeasurementsFileSpec):
        self.model, self.path, self.spec = model, path, spec
        self.problems: list[str] = []

    def run(self) -> MeasurementsFile:
        points, seen = [], set()
        for n, raw in enumerate(self.spec.points):
            try:
                spec = PointSpec.model_validate(raw)
            except ValidationError as exc:
                pid = raw.get("id") if isinstance(raw.get("id"), str) else None
                self.problems += [f"point {pid or '#' + str(n + 1)} {p}".rstrip()
                                  for p in _schema_problems(exc.errors())]
                continue
            item = f"point {spec.id}"
            if spec.id in seen:
                self.problems.append(f"{item}: the id is used twice")
            seen.add(spec.id)
            if not _ID.match(spec.id):
                self.problems.append(f"{item}: ids are letters, digits and . _ : -")
            point = self.point(spec, item)
            if point is not None:
                points.append(point)
        if self.problems:
            raise MeasurementsFileError(self.path, self.problems)
        return MeasurementsFile(self.path, " ".join(self.spec.description.split()),
                                tuple(points))

    def point(self, spec: PointSpec, item) -> Measurement | None:
        d = self.spec.defaults
        before = len(self.problems)
        stack = spec.stack or d.stack
        presets = self.presets(item, [*(spec.presets if spec.presets is not None else
                                        d.presets or []), *([stack] if stack else [])])
        metric = self.metric(item, spec.metric or d.metric)
        given, ranges = self.given(item, {**d.given, **spec.given})
        value = self.value(item, spec.value, metric)
        software = self.text(item, "software", spec.software or d.software)
        version = self.text(item, "version", spec.version if spec.version is not None
                            else d.version)
        source = self.source(item, spec.source or d.source)
        max_concurrency = spec.max_concurrency or d.max_concurrency
        if metric is not None:
            self.batching(item, metric, spec.concurrency, max_concurrency if
                          metric.how == BEST_BATCH else spec.max_concurrency, given)
        for text in spec.limits:
            try:
                self.model.constraint(text)
            except CostgraphError as exc:
                self.problems.append(f"{item}: limit {text!r}: {exc}")
        if len(self.problems) > before:
            return None
        return Measurement(spec.id, self.path, presets, metric, value, software, version,
                           source, given, ranges, spec.concurrency,
                           max_concurrency if metric.how == BEST_BATCH else None,
                           spec.replicas, tuple(spec.limits),
                           " ".join(spec.note.split()) if spec.note else None)

    def presets(self, item, names) -> tuple[str, ...]:
        if not names:
            self.problems.append(f"{item}: no presets: name the hardware, model, precision "
                                 "and tensor parallelism, e.g. [h200, llama-3.1-70b, fp8, tp1]")
            return ()
        known = self.model.ruleset.presets
        for name in names:
            if name not in known:
                self.problems.append(f"{item}: unknown preset '{name}'"
                                     f"{did_you_mean(name, known)}")
        return tuple(names)

    def metric(self, item, name) -> Metric | None:
        if name is None:
            self.problems.append(f"{item}: no metric: give one of {', '.join(METRICS)}")
            return None
        if name not in METRICS:
            more = did_you_mean(name, METRICS, f"; the metrics are {', '.join(METRICS)}")
            self.problems.append(f"{item}: unknown metric '{name}'{more}")
            return None
        metric = METRICS[name]
        if metric.quantity not in self.model.ruleset.quantities:
            self.problems.append(f"{item}: metric {name} is predicted by {metric.quantity}, "
                                 "which these rules do not declare")
            return None
        return metric

    def given(self, item, raw: dict) -> tuple[dict, dict]:
        given, ranges = {}, {}
        for name, spec in raw.items():
            value = spec.value if isinstance(spec, GivenSpec) else spec
            try:
                given[name] = self.model.coerce(name, value, "given")
                if isinstance(spec, GivenSpec) and (spec.low is not None or spec.high is not None):
                    low = self.model.coerce(name, spec.low if spec.low is not None else value,
                                            "given")
                    high = self.model.coerce(name, spec.high if spec.high is not None else value,
                                             "given")
                    if not low <= given[name] <= high:
                        self.problems.append(f"{item}: given {name}: the value "
                                             f"{format_quantity(given[name])} is outside its "
                                             f"range [{format_quantity(low)}, "
                                             f"{format_quantity(high)}]")
                    ranges[name] = (low, high)
            except CostgraphError as exc:
                self.problems.append(f"{item}: {exc}")
        return given, ranges

    def value(self, item, raw, metric: Metric | None):
        try:
            value = parse_quantity(raw)
        except ValueError as exc:
            self.problems.append(f"{item}: value {raw!r}: {exc}")
            return None
        if metric is None:
            return value
        unit = self.model.ruleset.quantities[metric.quantity].pint_unit
        if value.dimensionality != unit.dimensionality:
            self.problems.append(f"{item}: value {raw!r} is not in units of "
                                 f"{metric.quantity} ({unit:~P}) as metric {metric.name} needs")
            return None
        if not float(value.magnitude) > 0:
            self.problems.append(f"{item}: value {raw!r} must be above zero")
        return value

    def text(self, item, key, raw) -> str:
        text = "" if raw is None else str(raw).strip()
        if not text:
            self.problems.append(f"{item}: no {key}: say which serving software (and "
                                 "version) measured it, here or in defaults")
        return text

    def source(self, item, text) -> str:
        if not text:
            self.problems.append(f"{item}: no source: cite where it was published, e.g. "
                                 "[tensorrt-llm-perf-overview-v1.0] Llama 3.3 70B table")
            return ""
        bib = self.model.ruleset.bibliography
        if bib is None:
            return text
        try:
            citations = parse_source(text, bib.file)
        except ValueError as exc:
            self.problems.append(f"{item}: {exc}")
            return text
        for c in citations:
            if c.key not in bib.entries:
                more = did_you_mean(c.key, bib.entries, f" (add it to {bib.file})")
                self.problems.append(f"{item}: source cites unknown key [{c.key}]{more}")
        return text

    def batching(self, item, metric: Metric, concurrency, max_concurrency, given):
        if CONCURRENCY_QUANTITY in given:
            how = ("the batch is what it searches (cap it with max_concurrency)"
                   if metric.how == BEST_BATCH else "state it as concurrency")
            self.problems.append(f"{item}: given {CONCURRENCY_QUANTITY}: {metric.name} "
                                 f"sets it; {how}")
        if metric.how == AT_CONCURRENCY and concurrency is None:
            self.problems.append(f"{item}: metric {metric.name} needs the concurrency it was "
                                 "measured at (concurrency: N)")
        if metric.how == BEST_BATCH and concurrency is not None:
            self.problems.append(f"{item}: metric {metric.name} searches the batch; give "
                                 "max_concurrency to cap it, or use throughput_at")
        if metric.how == AT_CONCURRENCY and max_concurrency is not None:
            self.problems.append(f"{item}: max_concurrency is for max_throughput; "
                                 f"{metric.name} is at its concurrency")


def _schema_problems(errors, where: str = "") -> list[str]:
    """One line per problem: ``key K: what is wrong`` (after ``where``, if given)."""
    out = []
    for err in errors:
        # deeper parts of a location name pydantic's union branches (str, int, GivenSpec)
        key = ".".join(str(p) for p in err["loc"][:2] if not str(p)[:1].isupper()
                       and str(p) not in ("str", "int", "float"))
        text = schema_text(err, "see docs/validation.md for the format")
        head = " ".join(p for p in (where, f"key {key}" if key else "") if p)
        out.append(f"{head}: {text}" if head else text)
    return out
