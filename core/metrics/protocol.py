"""Evaluation protocols as data: a dataset's regions, metrics, surface, tolerances, empty-mask rules, scoring,
aggregation and ranking score, and the one scoring function every caller uses.

A dataset declares its protocol in ``DatasetInfo.protocol`` (card key ``protocol``); :func:`parse_protocol`
checks it into a typed :class:`Protocol` (errors name the dataset and the field) and :func:`default_protocol`
is what a dataset without one gets (medhub's behaviour before protocols). :func:`protocol_of` picks between
them. Scoring: :func:`score_case` turns one predicted and one reference label map (the reference's grid) into
the per-case rows ``{"case", "label", <metric>: value, ...}``, every value computed by the registered
``MetricInfo.fn``; :func:`aggregate_protocol` turns the rows into the means and the ranking value, in the shape
result records keep (``metrics.aggregate`` / ``metrics.per_label``). docs/metrics.md documents each protocol.

This module imports no NumPy at import time: ``hub info`` (a catalogue command) shows protocols.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.registry import PROTOCOL_KEYS, got

SURFACES = ("voxels", "elements")
SCORING = ("whole", "slices")
NAN_RULES = ("skip", "value", "error")
EMPTY_CASES = ("both_empty", "reference_empty", "prediction_empty")
SPEC_KEYS = ("metric", "name", "options", "relative_to")
DEFAULT_ID = "default"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*\Z")  # region and metric names: no "/" (it joins "dice/ET")
SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def default_name(metric_id: str) -> str:
    """The name a metric's values go under when none is given: its id, without a ``family/`` part (so that
    ``dice/ET`` always reads "metric dice of region ET")."""
    return metric_id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class MetricSpec:
    """One metric of a region: the registered ``metric`` id, the ``name`` its values go under (default: the id),
    ``options`` passed to its fn, and ``relative_to``: a region whose reference volume (mm³) divides the value."""

    metric: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    relative_to: str | None = None

    @classmethod
    def of(cls, metric_id: str) -> MetricSpec:
        """The spec of a metric id alone (default name, no options)."""
        return cls(metric=metric_id, name=default_name(metric_id))

    def to_json(self) -> Any:
        """The id alone when nothing else is set, else the mapping a card holds."""
        if self.name == default_name(self.metric) and not self.options and self.relative_to is None:
            return self.metric
        out: dict[str, Any] = {"metric": self.metric, "name": self.name}
        if self.options:
            out["options"] = dict(self.options)
        if self.relative_to is not None:
            out["relative_to"] = self.relative_to
        return out


@dataclass(frozen=True)
class Region:
    """A named union of label values and its metrics; ``label`` is what the rows' ``"label"`` holds (the label
    value itself for a single label of the default protocol, else the region's name)."""

    label: int | str
    values: tuple[int, ...]
    metrics: tuple[MetricSpec, ...]
    tolerance: float

    @property
    def name(self) -> str:
        """The region's name as aggregates and ranking terms (``dice/<name>``) spell it."""
        return str(self.label)


@dataclass(frozen=True)
class Ranking:
    """The ranking score: the mean of ``terms`` (aggregate names: ``dice`` = over every region, ``dice/ET`` = one
    region's mean), stored under ``name``."""

    name: str
    terms: tuple[str, ...]

    def to_json(self) -> Any:
        """The single aggregate name, or ``{"name", "mean"}`` for a formula."""
        return self.terms[0] if self.terms == (self.name,) else {"name": self.name, "mean": list(self.terms)}


@dataclass(frozen=True)
class Protocol:
    """A parsed evaluation protocol (see the module doc and docs/metrics.md "Evaluation protocols").

    ``empty`` maps a metric name to ``{case: value}`` with case one of :data:`EMPTY_CASES`; ``nan`` is the
    aggregation's rule for NaN values (:data:`NAN_RULES`); ``overrides`` lists what a caller changed
    (``--metrics``, ``--labels``, ...): a protocol with overrides is no longer the dataset's as declared."""

    id: str
    version: str
    source: str
    regions: tuple[Region, ...]
    surface: str = "voxels"
    empty: dict[str, dict[str, float]] = field(default_factory=dict)
    scoring: str = "whole"
    slice_axis: int = -1
    nan: str = "skip"
    ranking: Ranking = Ranking("dice", ("dice",))
    notes: str = ""
    dataset: str = ""
    declared: bool = False
    overrides: tuple[str, ...] = ()

    def metric_names(self) -> list[str]:
        """Every metric name of every region, in first-seen order (the aggregate's overall metrics)."""
        names: list[str] = []
        for region in self.regions:
            names += [m.name for m in region.metrics if m.name not in names]
        return names

    def region(self, name: str) -> Region:
        """The region called ``name`` (an error naming the protocol's regions otherwise)."""
        for region in self.regions:
            if region.name == name:
                return region
        raise MedhubError(f'protocol "{self.id}" has no region "{name}"; regions: '
                          f'{", ".join(r.name for r in self.regions)}')

    def customized(self, metrics: Sequence[str] | None = None, labels: Sequence[int] | None = None,
                   tolerance: float | None = None, surface: str | None = None) -> Protocol:
        """This protocol with what a caller chose instead (``hub evaluate --metrics / --labels / --nsd-tolerance /
        --surface``); each change is listed in ``overrides``. ``metrics`` apply to every region; ``labels``
        replace the regions by those labels alone. The ranking falls back to the first metric when its terms
        no longer exist."""
        out, changed = self, list(self.overrides)
        if labels is not None:
            first = self.regions[0] if self.regions else None
            specs = first.metrics if first else tuple(MetricSpec.of(m) for m in (metrics or ("dice",)))
            tol = first.tolerance if first else 1.0
            out = replace(out, regions=tuple(Region(int(v), (int(v),), specs, tol) for v in labels))
            changed.append("labels")
        if metrics is not None:
            specs = tuple(MetricSpec.of(m) for m in metrics)
            out = replace(out, regions=tuple(replace(r, metrics=specs) for r in out.regions))
            changed.append("metrics")
        if tolerance is not None:
            out = replace(out, regions=tuple(replace(r, tolerance=float(tolerance)) for r in out.regions))
            changed.append("nsd_tolerance")
        if surface is not None:
            out = replace(out, surface=check_choice(surface, SURFACES, "surface", "--surface"))
            changed.append("surface")
        if not changed:
            return self
        out = replace(out, empty={k: v for k, v in out.empty.items() if k in out.metric_names()},
                      overrides=tuple(dict.fromkeys(changed)))
        if not all(_term_known(out, t) for t in out.ranking.terms):
            first = out.metric_names()[0]
            out = replace(out, ranking=Ranking(first, (first,)))
        return out

    def summary(self) -> dict[str, Any]:
        """``{"id", "version"}`` plus ``overrides`` when a caller changed it: what a result records."""
        out: dict[str, Any] = {"id": self.id, "version": self.version}
        return {**out, "overrides": list(self.overrides)} if self.overrides else out

    def to_json(self) -> dict[str, Any]:
        """Every rule as plain JSON values (``hub info ID --json``): the card form plus ``declared``."""
        same = all(r.metrics == self.regions[0].metrics for r in self.regions)
        metrics: Any = ([m.to_json() for m in self.regions[0].metrics] if same and self.regions else
                        {r.name: [m.to_json() for m in r.metrics] for r in self.regions})
        tolerances = {r.tolerance for r in self.regions}
        return {"id": self.id, "version": self.version, "source": self.source, "declared": self.declared,
                "regions": {r.name: list(r.values) for r in self.regions}, "metrics": metrics,
                "surface": self.surface,
                "tolerance": (tolerances.pop() if len(tolerances) == 1 else
                              {r.name: r.tolerance for r in self.regions}),
                "empty": {m: {case: _json_number(v) for case, v in rules.items()} for m, rules in self.empty.items()},
                "scoring": self.scoring, "slice_axis": self.slice_axis, "aggregation": {"nan": self.nan},
                "ranking": self.ranking.to_json(), "notes": self.notes,
                **({"overrides": list(self.overrides)} if self.overrides else {})}


def _json_number(value: float) -> Any:
    return next((k for k, v in SPECIAL.items() if v == value or (math.isnan(v) and math.isnan(value))), value)


def _term_known(protocol: Protocol, term: str) -> bool:
    metric, _, region = term.partition("/")
    if not region:
        return metric in protocol.metric_names()
    return any(r.name == region and any(m.name == metric for m in r.metrics) for r in protocol.regions)


# ---------------------------------------------------------------------------------------------- parsing
def check_choice(value: object, choices: tuple[str, ...], name: str, where: str) -> str:
    """``value`` when it is one of ``choices``, else an error naming ``where`` and the choices."""
    if not (isinstance(value, str) and value in choices):
        raise MedhubError(f'{where}: "{name}" must be one of {", ".join(choices)}, got {got(value)}')
    return value


def _number(value: object, where: str, minimum: float | None = None, special: bool = False) -> float:
    """A float from an int/float (or "nan" / "inf" / "-inf" when ``special``); bools and text are refused."""
    if special and isinstance(value, str) and value.lower() in SPECIAL:
        return SPECIAL[value.lower()]
    if type(value) not in (int, float) or not math.isfinite(float(value)):  # type: ignore[arg-type]
        allowed = ' or "nan" / "inf"' if special else ""
        raise MedhubError(f"{where} must be a finite number{allowed}, got {got(value)}")
    if minimum is not None and float(value) < minimum:  # type: ignore[arg-type]
        raise MedhubError(f"{where} must be >= {minimum:g}, got {value}")
    return float(value)  # type: ignore[arg-type]


def _name(value: object, where: str) -> str:
    if not (isinstance(value, str) and NAME.match(value)):
        raise MedhubError(f'{where} must be a name of letters, digits and "_.+-" (no "/"), got {got(value)}')
    return value


def _regions(value: object, where: str) -> dict[str, tuple[int, ...]]:
    if not isinstance(value, dict) or not value:
        raise MedhubError(f'{where} must be a non-empty mapping of region name -> label values, got {got(value)}')
    out = {}
    for name, labels in value.items():
        key = _name(name, f"{where} key")
        if not isinstance(labels, list) or not labels or not all(type(v) is int and v >= 0 for v in labels):
            raise MedhubError(f'{where}.{key} must be a non-empty list of label values (integers >= 0), got '
                              f"{got(labels)}")
        out[key] = tuple(labels)
    return out


def _metric_id(value: object, where: str) -> str:
    if not (isinstance(value, str) and value.strip() == value and value):
        raise MedhubError(f"{where} must be a registered metric id (hub plugins --all lists them), got {got(value)}")
    return value


def _spec(value: object, where: str) -> MetricSpec:
    if isinstance(value, str):
        return MetricSpec.of(_metric_id(value, where))
    if not isinstance(value, dict) or "metric" not in value:
        raise MedhubError(f'{where} must be a metric id or a mapping with "metric", got {got(value)}')
    unknown = [k for k in value if k not in SPEC_KEYS]
    if unknown:
        raise MedhubError(f"{where} has unknown key(s) {', '.join(map(str, unknown))}; known: {', '.join(SPEC_KEYS)}")
    metric = _metric_id(value["metric"], f"{where}.metric")
    options = value.get("options", {})
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise MedhubError(f"{where}.options must be a mapping of option name -> value, got {got(options)}")
    relative = value.get("relative_to")
    return MetricSpec(metric=metric, name=_name(value.get("name", default_name(metric)), f"{where}.name"),
                      options=dict(options),
                      relative_to=None if relative is None else _name(relative, f"{where}.relative_to"))


def _spec_list(value: object, where: str) -> tuple[MetricSpec, ...]:
    if not isinstance(value, list) or not value:
        raise MedhubError(f"{where} must be a non-empty list of metrics, got {got(value)}")
    specs = tuple(_spec(v, f"{where}[{i}]") for i, v in enumerate(value))
    names = [s.name for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MedhubError(f'{where}: metric name(s) {", ".join(twice)} given twice; give one a "name"')
    return specs


def _metrics(value: object, regions: Sequence[str], where: str) -> dict[str, tuple[MetricSpec, ...]]:
    if isinstance(value, dict):
        missing = [r for r in regions if r not in value]
        extra = [str(r) for r in value if r not in regions]
        if missing or extra:
            raise MedhubError(f"{where} must list the metrics of every region and only those: "
                              + "; ".join(p for p in (f"missing {', '.join(missing)}" if missing else "",
                                                      f"unknown {', '.join(extra)}" if extra else "") if p))
        return {r: _spec_list(value[r], f"{where}.{r}") for r in regions}
    specs = _spec_list(value, where)
    return {r: specs for r in regions}


def _tolerances(value: object, regions: Sequence[str], default: float, where: str) -> dict[str, float]:
    if value is None:
        return {r: default for r in regions}
    if isinstance(value, dict):
        extra = [str(r) for r in value if r not in regions]
        if extra:
            raise MedhubError(f"{where} names unknown region(s) {', '.join(extra)}; regions: {', '.join(regions)}")
        return {r: _number(value[r], f"{where}.{r}", 0.0) if r in value else default for r in regions}
    tol = _number(value, where, 0.0)
    return {r: tol for r in regions}


def _empty(value: object, names: Sequence[str], where: str) -> dict[str, dict[str, float]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MedhubError(f"{where} must be a mapping of metric name -> {{case: value}}, got {got(value)}")
    out = {}
    for metric, rules in value.items():
        if metric not in names:
            raise MedhubError(f'{where} names metric "{metric}", which no region scores; metrics: {", ".join(names)}')
        if not isinstance(rules, dict) or not rules:
            raise MedhubError(f"{where}.{metric} must be a mapping of {' / '.join(EMPTY_CASES)} -> value, got "
                              f"{got(rules)}")
        bad = [str(k) for k in rules if k not in EMPTY_CASES]
        if bad:
            raise MedhubError(f"{where}.{metric} has unknown case(s) {', '.join(bad)}; cases: {', '.join(EMPTY_CASES)}")
        out[metric] = {case: _number(v, f"{where}.{metric}.{case}", special=True) for case, v in rules.items()}
    return out


def _ranking(value: object, protocol: Protocol, where: str) -> Ranking:
    if isinstance(value, str):
        ranking = Ranking(value, (value,))
    elif isinstance(value, dict) and set(value) == {"name", "mean"} and isinstance(value["mean"], list) \
            and value["mean"] and all(isinstance(t, str) for t in value["mean"]):
        ranking = Ranking(_name(value["name"], f"{where}.name"), tuple(value["mean"]))
    else:
        raise MedhubError(f'{where} must be an aggregate name ("dice", "dice/ET") or {{"name": ..., "mean": [names]}}'
                          f", got {got(value)}")
    for term in ranking.terms:
        if not _term_known(protocol, term):
            raise MedhubError(f'{where}: "{term}" is not an aggregate of this protocol; use a metric name '
                              f'({", ".join(protocol.metric_names())}) or <metric>/<region> '
                              f'(regions: {", ".join(r.name for r in protocol.regions)})')
    return ranking


def parse_protocol(mapping: Mapping[str, Any], info: Any, nsd_tolerance: float = 1.0) -> Protocol:
    """A dataset's ``protocol`` mapping checked into a :class:`Protocol`; errors name the dataset and the field.

    Keys left out take the dataset's defaults (:func:`default_protocol`): ``id`` the dataset id, ``version``
    ``"1"``, ``regions`` its ``preprocessing["regions"]`` or each foreground label, ``metrics`` its ``metrics``,
    ``tolerance`` ``nsd_tolerance``, ``ranking`` its ``ranking_metric``.

    Example:
        >>> from medhub import DatasetInfo
        >>> info = DatasetInfo(id="myorg/brain", title="t", task="segmentation", dims=3, layout="decathlon",
        ...                    labels={"0": "bg", "1": "core", "2": "edema"})
        >>> p = parse_protocol({"regions": {"core": [1], "whole": [1, 2]}, "metrics": ["dice"],
        ...                     "empty": {"dice": {"both_empty": 1}}, "ranking": "dice/core"}, info)
        >>> [r.name for r in p.regions], p.empty, p.ranking.name
        (['core', 'whole'], {'dice': {'both_empty': 1.0}}, 'dice/core')
        >>> parse_protocol({"surface": "mesh"}, info)
        Traceback (most recent call last):
        medhub.core.errors.MedhubError: dataset "myorg/brain": protocol: "surface" must be one of voxels, elements, got 'mesh'
    """
    where = f'dataset "{info.id}": protocol'
    if not isinstance(mapping, Mapping):
        raise MedhubError(f"{where} must be a mapping, got {got(mapping)}")
    unknown = [str(k) for k in mapping if k not in PROTOCOL_KEYS]
    if unknown:
        raise MedhubError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(PROTOCOL_KEYS)}")
    base = default_protocol(info, nsd_tolerance)
    texts = {}
    for key in ("id", "version", "source", "notes"):
        value = mapping.get(key, getattr(base, key) if key != "id" else info.id)
        if not isinstance(value, str) or (key in ("id", "version") and not value):
            raise MedhubError(f'{where}: "{key}" must be a{" non-empty" if key in ("id", "version") else ""} '
                              f"string, got {got(value)}")
        texts[key] = value
    if "regions" in mapping:
        values = _regions(mapping["regions"], f"{where}.regions")
    else:
        values = {r.name: r.values for r in base.regions}
    names = list(values)
    metrics = (_metrics(mapping["metrics"], names, f"{where}.metrics") if "metrics" in mapping else
               {n: base.regions[0].metrics if base.regions else (MetricSpec.of("dice"),) for n in names})
    tolerance = _tolerances(mapping.get("tolerance"), names, float(nsd_tolerance), f"{where}.tolerance")
    labels = {r.name: r.label for r in base.regions}
    regions = tuple(Region(labels.get(n, n) if "regions" not in mapping else n, values[n], metrics[n], tolerance[n])
                    for n in names)
    for region in regions:
        for spec in region.metrics:
            if spec.relative_to is not None and spec.relative_to not in names:
                raise MedhubError(f'{where}.metrics: "{spec.name}" of region "{region.name}" is relative_to unknown '
                                  f'region "{spec.relative_to}"; regions: {", ".join(names)}')
    aggregation = mapping.get("aggregation", {"nan": "skip"})
    if not isinstance(aggregation, dict) or set(aggregation) - {"nan"}:
        raise MedhubError(f'{where}: "aggregation" must be {{"nan": {" | ".join(NAN_RULES)}}}, got {got(aggregation)}')
    slice_axis = mapping.get("slice_axis", -1)
    if type(slice_axis) is not int:
        raise MedhubError(f'{where}: "slice_axis" must be an integer axis (e.g. -1, the last), got {got(slice_axis)}')
    protocol = Protocol(
        id=texts["id"], version=texts["version"], source=texts["source"], notes=texts["notes"], regions=regions,
        surface=check_choice(mapping.get("surface", "voxels"), SURFACES, "surface", where),
        scoring=check_choice(mapping.get("scoring", "whole"), SCORING, "scoring", where), slice_axis=slice_axis,
        nan=check_choice(aggregation.get("nan", "skip"), NAN_RULES, "aggregation.nan", where),
        dataset=info.id, declared=True)
    names_scored = protocol.metric_names()
    protocol = replace(protocol, empty=_empty(mapping.get("empty"), names_scored, f"{where}.empty"))
    ranking = mapping.get("ranking", info.ranking_metric or names_scored[0])
    if "ranking" not in mapping and not _term_known(protocol, ranking):
        ranking = names_scored[0]
    return replace(protocol, ranking=_ranking(ranking, protocol, f"{where}.ranking"))


def default_labels(info: Any) -> list[int] | dict[str, list[int]]:
    """What the default protocol scores: the dataset's ``regions`` (``preprocessing`` or ``layout_options``), or
    every label value of ``labels`` but background 0 (empty when the card lists none)."""
    regions = info.preprocessing.get("regions") or info.layout_options.get("regions")
    if regions:
        return {str(k): [int(v) for v in vals] for k, vals in regions.items()}
    return sorted(int(k) for k in info.labels if str(k).isdigit() and int(k) != 0)


def default_protocol(info: Any, nsd_tolerance: float = 1.0) -> Protocol:
    """medhub's behaviour for a dataset that declares no protocol: each foreground label (or the card's
    ``regions``) alone, the card's ``metrics`` (default ``dice``), ``voxels`` surfaces, ``nsd_tolerance`` mm for
    every region, the raw empty-mask values of the metric functions, whole-case scoring, means that leave NaN
    out (an inf enters), ranked by ``ranking_metric`` (default: the first metric)."""
    metrics = tuple(MetricSpec.of(m) for m in (info.metrics or ("dice",)))
    tol = float(nsd_tolerance)
    labels = default_labels(info)
    if isinstance(labels, dict):
        regions = tuple(Region(name, tuple(values), metrics, tol) for name, values in labels.items())
    else:
        regions = tuple(Region(v, (v,), metrics, tol) for v in labels)
    first = metrics[0].name
    rank = info.ranking_metric or first
    protocol = Protocol(id=DEFAULT_ID, version="1", source="medhub (the dataset declares no protocol)",
                        regions=regions, dataset=info.id)
    return replace(protocol, ranking=Ranking(rank, (rank,)) if _term_known(protocol, rank) or not regions
                   else Ranking(first, (first,)))


def labels_protocol(labels: Sequence[int] | Mapping[str, Sequence[int]], metrics: Sequence[str] = ("dice",),
                    nsd_tolerance: float = 1.0, surface: str = "voxels") -> Protocol:
    """The protocol of a folder pair or a direct call: each label (or region) with ``metrics``, one tolerance,
    one surface definition, raw empty-mask values, NaN skipped, ranked by the first metric."""
    specs = tuple(MetricSpec.of(m) for m in metrics)
    if isinstance(labels, Mapping):
        regions = tuple(Region(str(n), tuple(int(v) for v in vals), specs, float(nsd_tolerance))
                        for n, vals in labels.items())
    else:
        regions = tuple(Region(int(v), (int(v),), specs, float(nsd_tolerance)) for v in labels)
    first = specs[0].name if specs else "dice"
    return Protocol(id="labels", version="1", source="hub evaluate options", regions=regions,
                    surface=check_choice(surface, SURFACES, "surface", "labels protocol"),
                    ranking=Ranking(first, (first,)))


def protocol_of(info: Any, nsd_tolerance: float = 1.0) -> Protocol:
    """The dataset's protocol: its declared ``protocol`` parsed (:func:`parse_protocol`), or the default one;
    ``.id`` / ``.version`` identify it in a record. ``nsd_tolerance`` (a run's ``nsd_tolerance``) applies to
    the regions whose tolerance the protocol does not fix. Metric ids are checked against the registry."""
    if info.task != "segmentation":
        if info.protocol:
            raise MedhubError(f'dataset "{info.id}": protocol: only a segmentation dataset declares a protocol; a '
                              f"{info.task} dataset is scored by its metrics ({', '.join(info.metrics) or 'accuracy'})")
        return dataset_level_protocol(info)
    protocol = parse_protocol(info.protocol, info, nsd_tolerance) if info.protocol else \
        default_protocol(info, nsd_tolerance)
    metric_functions(protocol)
    return protocol


def dataset_level_protocol(info: Any) -> Protocol:
    """The protocol of a classification or regression dataset: no regions (its metrics score all cases at once,
    :func:`medhub.core.metrics.score_predictions`), ranked by ``ranking_metric``."""
    rank = info.ranking_metric or (info.metrics[0] if info.metrics else "accuracy")
    return Protocol(id=DEFAULT_ID, version="1", source="medhub (dataset-level metrics of the card)", regions=(),
                    ranking=Ranking(rank, (rank,)), dataset=info.id)


def describe(protocol: Protocol) -> list[tuple[str, str]]:
    """``[(rule, text)]`` lines of ``hub info``: the protocol's id, source and every rule, in words."""
    def values(v: float) -> str:
        return str(_json_number(v)) if not math.isfinite(v) else f"{v:.10g}"

    lines = [("protocol", f"{protocol.id} {protocol.version}" + ("" if protocol.declared else " (medhub's default)")),
             ("source", protocol.source)]
    if not protocol.regions:
        return lines + [("ranking", protocol.ranking.name)]
    lines.append(("regions", "; ".join(f"{r.name} = {'+'.join(map(str, r.values))}" for r in protocol.regions)))
    groups: list[tuple[tuple[MetricSpec, ...], list[str]]] = []  # specs hold dicts: grouped by equality
    for region in protocol.regions:
        group = next((g for g in groups if g[0] == region.metrics), None)
        if group is None:
            groups.append((region.metrics, [region.name]))
        else:
            group[1].append(region.name)
    for specs, names in groups:
        text = ", ".join(_spec_text(m) for m in specs)
        lines.append(("metrics", text if len(groups) == 1 else f"{', '.join(names)}: {text}"))
    lines.append(("surface", protocol.surface))
    tolerances = dict.fromkeys(r.tolerance for r in protocol.regions)
    lines.append(("tolerance", "; ".join(f"{t:g} mm" + ("" if len(tolerances) == 1 else " (" + ", ".join(
        r.name for r in protocol.regions if r.tolerance == t) + ")") for t in tolerances) + " (NSD tolerance)"))
    cases = {"both_empty": "both empty", "reference_empty": "only the reference empty",
             "prediction_empty": "only the prediction empty"}
    empty = "; ".join(f"{m}: " + ", ".join(f"{cases[c]} {values(v)}" for c, v in rules.items())
                      for m, rules in protocol.empty.items())
    lines.append(("empty masks", empty or "the metrics' own values (docs/metrics.md)"))
    lines.append(("scoring", "whole case" if protocol.scoring == "whole" else
                  f"each slice along axis {protocol.slice_axis}, then the mean over the case's slices"))
    nan = {"skip": "NaN left out", "value": "NaN counts (the mean becomes NaN)", "error": "NaN is an error"}
    lines.append(("aggregation", f"mean over cases; {nan[protocol.nan]}; inf enters the mean"))
    lines.append(("ranking", protocol.ranking.name if protocol.ranking.terms == (protocol.ranking.name,) else
                  f"{protocol.ranking.name} = mean of {', '.join(protocol.ranking.terms)}"))
    return lines + ([("notes", protocol.notes)] if protocol.notes else [])


def _spec_text(spec: MetricSpec) -> str:
    extra = [f"{k}={v}" for k, v in spec.options.items()] + ([f"relative to {spec.relative_to}'s reference volume"]
                                                            if spec.relative_to else [])
    head = spec.name if spec.name == default_name(spec.metric) else f"{spec.name} ({spec.metric})"
    return head + (f" [{'; '.join(extra)}]" if extra else "")


# ---------------------------------------------------------------------------------------------- scoring
def metric_functions(protocol: Protocol) -> dict[str, Any]:
    """``{metric id: MetricInfo}`` of every metric the protocol scores, looked up in the registry (aliases
    resolve); an unknown id or a dataset-level metric is an error naming the protocol."""
    from medhub.core.errors import UnknownIdError
    from medhub.core.plugin_manager import get_registry

    registry = get_registry()
    out: dict[str, Any] = {}
    owner = f'dataset "{protocol.dataset}": protocol: ' if protocol.dataset else ""
    per_case = sorted(m.id for m in registry.metrics if m.kind == "per_case")
    for region in protocol.regions:
        for spec in region.metrics:
            if spec.metric in out:
                continue
            try:
                entry = registry.metric(spec.metric)
            except UnknownIdError as exc:
                hint = f" (did you mean {', '.join(exc.suggestions)}?)" if exc.suggestions else ""
                raise MedhubError(f'{owner}unknown segmentation metric "{spec.metric}"{hint}; registered per-case '
                                  f"metrics: {', '.join(per_case)} (plugins add others: hub plugins --all)") from None
            if entry.kind != "per_case":
                raise MedhubError(f'{owner}metric "{entry.id}" scores a whole dataset (kind "{entry.kind}"), not a '
                                  f"mask pair; per-case metrics: {', '.join(per_case)}")
            out[spec.metric] = entry
    return out


def empty_case(pred: Any, ref: Any) -> str | None:
    """Which of :data:`EMPTY_CASES` a mask pair is (None when both masks hold voxels)."""
    has_pred, has_ref = bool(pred.any()), bool(ref.any())
    if has_pred and has_ref:
        return None
    return "both_empty" if not (has_pred or has_ref) else ("reference_empty" if has_pred else "prediction_empty")


def _mask(labels: Any, values: tuple[int, ...]) -> Any:
    import numpy as np

    return labels == values[0] if len(values) == 1 else np.isin(labels, values)


def _value(entry: Any, spec: MetricSpec, pred: Any, ref: Any, spacing: tuple[float, ...], region: Region,
           protocol: Protocol, cache: dict) -> float:
    """One metric of one mask pair through its registered fn; a non-number is an error naming the metric."""
    value = entry.compute(pred, ref, spacing, surface=protocol.surface, tolerance=region.tolerance, cache=cache,
                          **spec.options)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MedhubError(f'metric "{entry.id}" (plugin "{entry.plugin}") returned {got(value)}, not a number; a '
                          "per-case metric returns a float") from None


def score_regions(pred: Any, ref: Any, spacing: Sequence[float], protocol: Protocol) -> list[dict[str, Any]]:
    """``[{"label": region.label, <metric name>: value, ...}]`` of two label maps of one shape (one case, or
    one slice): each region's mask pair, the protocol's empty-mask rules, then each metric's fn (the metrics of
    a region share one ``cache``); ``relative_to`` divides by that region's reference volume in mm³."""
    import numpy as np

    entries = metric_functions(protocol)
    spacing = tuple(float(s) for s in spacing)
    voxel_mm3 = float(np.prod(spacing))
    rows = []
    for region in protocol.regions:
        p, r = _mask(pred, region.values), _mask(ref, region.values)
        state = empty_case(p, r)
        cache: dict = {}
        row: dict[str, Any] = {"label": region.label}
        for spec in region.metrics:
            rule = protocol.empty.get(spec.name, {}).get(state) if state else None
            if rule is not None:
                row[spec.name] = rule
                continue
            value = _value(entries[spec.metric], spec, p, r, spacing, region, protocol, cache)
            if spec.relative_to is not None:
                volume = int(np.count_nonzero(_mask(ref, protocol.region(spec.relative_to).values))) * voxel_mm3
                value = value / volume if volume else (math.nan if value == 0 else math.inf)
            row[spec.name] = value
        rows.append(row)
    return rows


def _slice_rows(pred: Any, ref: Any, spacing: tuple[float, ...], protocol: Protocol) -> list[dict[str, Any]]:
    """Scoring ``slices``: every slice along ``slice_axis`` scored alone, each case value the mean of its slices
    (NaN handled as the protocol's aggregation says)."""
    import numpy as np

    axis = protocol.slice_axis % pred.ndim
    plane = tuple(s for i, s in enumerate(spacing) if i != axis)
    per_slice = [score_regions(np.take(pred, k, axis=axis), np.take(ref, k, axis=axis), plane, protocol)
                 for k in range(pred.shape[axis])]
    rows = []
    for i, region in enumerate(protocol.regions):
        row: dict[str, Any] = {"label": region.label}
        for spec in region.metrics:
            row[spec.name] = _mean([s[i][spec.name] for s in per_slice], protocol.nan, "a slice")
        rows.append(row)
    return rows


def score_case(pred_labels: Any, ref_labels: Any, spacing: Sequence[float], protocol: Protocol,
               case_id: str) -> list[dict[str, Any]]:
    """The per-case rows of one case under ``protocol``: ``[{"case": case_id, "label": L, <metric>: value}]``.

    ``pred_labels`` / ``ref_labels``: integer label maps of one shape on the reference's voxel grid (map the
    prediction back to the original geometry first); ``spacing``: the reference's voxel size in mm per axis,
    in the arrays' axis order. Every value is computed by the metric's registered ``MetricInfo.fn`` unless an
    empty-mask rule of the protocol gives it. Errors name the case.

    Example:
        >>> import numpy as np
        >>> ref = np.zeros((6, 6), np.int64); ref[1:4, 1:4] = 1
        >>> pred = np.zeros_like(ref); pred[1:4, 1:3] = 1
        >>> score_case(pred, ref, (1.0, 1.0), labels_protocol([1, 2], ("dice",)), "case1")
        [{'case': 'case1', 'label': 1, 'dice': 0.8}, {'case': 'case1', 'label': 2, 'dice': nan}]
    """
    import numpy as np

    pred, ref = np.asarray(pred_labels), np.asarray(ref_labels)
    if pred.shape != ref.shape:
        raise MedhubError(f'case "{case_id}": prediction shape {pred.shape} differs from reference shape {ref.shape}')
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != ref.ndim:
        raise MedhubError(f'case "{case_id}": spacing {spacing} has {len(spacing)} values for a {ref.ndim}D label map')
    if not protocol.regions:
        raise MedhubError(f'case "{case_id}": protocol "{protocol.id}" has no regions to score; give the labels '
                          "(--labels, or the dataset's labels / protocol regions)")
    try:
        rows = (_slice_rows(pred, ref, spacing, protocol) if protocol.scoring == "slices" and ref.ndim > 2 else
                score_regions(pred, ref, spacing, protocol))
    except MedhubError as exc:
        raise MedhubError(f'case "{case_id}": {exc}') from None
    return [{"case": case_id, **row} for row in rows]


# ---------------------------------------------------------------------------------------------- aggregation
def _number_of(value: Any) -> float | None:
    if value is None:
        return None
    return math.inf if value == "inf" else (-math.inf if value == "-inf" else float(value))


def _mean(values: Sequence[Any], nan: str, what: str) -> float:
    """The mean under the NaN rule (``skip``: left out; ``value``: the mean is NaN; ``error``); an inf enters;
    None (no value) is left out; a mean over nothing is NaN."""
    import numpy as np

    kept = [v for v in (_number_of(x) for x in values) if v is not None]
    if nan == "error" and any(math.isnan(v) for v in kept):
        raise MedhubError(f"{what} has a NaN value (undefined: e.g. both masks empty) and the protocol's "
                          'aggregation says "nan": "error"; give an empty-mask rule for that metric')
    if nan == "skip":
        kept = [v for v in kept if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def aggregate_protocol(rows: Sequence[Mapping[str, Any]], protocol: Protocol) -> dict[str, Any]:
    """Means of the per-case rows, in the shape records keep, plus the ranking value.

    ``{"<metric>": mean over every row, "<label>": {"<metric>": mean over that region's rows}, ...,
    "<ranking name>": value}``: plain values become a record's ``metrics.aggregate``, the per-region mappings
    ``metrics.per_label`` (``leaderboard.record.build_record``); the ranking value is stored under
    ``protocol.ranking.name`` (for the default protocol that is a metric name, already there). NaN follows the
    protocol's ``aggregation.nan``; with ``error`` the message names the case, the region and the metric.
    """
    out: dict[str, Any] = {}
    for name in protocol.metric_names():
        out[name] = _mean([r.get(name) for r in rows], protocol.nan, f'metric "{name}"' + _first_nan(rows, name))
    labels = list(dict.fromkeys(r["label"] for r in rows))
    for label in labels:
        mine = [r for r in rows if r["label"] == label]
        out[str(label)] = {m: _mean([r.get(m) for r in mine], protocol.nan, f'metric "{m}"') for m in
                           protocol.metric_names() if any(m in r for r in mine)}
    if protocol.ranking.name not in out:
        out[protocol.ranking.name] = ranking_value(out, protocol)
    return out


def _first_nan(rows: Sequence[Mapping[str, Any]], name: str) -> str:
    for r in rows:
        value = _number_of(r.get(name))
        if value is not None and math.isnan(value):
            return f' of case "{r.get("case")}", region "{r["label"]}"'
    return ""


def ranking_value(aggregate: Mapping[str, Any], protocol: Protocol) -> float:
    """The ranking score from an aggregate: the mean of the ranking's terms (``dice`` = the overall mean,
    ``dice/ET`` = region ET's mean); NaN when a term is missing or NaN."""
    values = []
    for term in protocol.ranking.terms:
        metric, _, region = term.partition("/")
        value = aggregate.get(region, {}).get(metric) if region else aggregate.get(metric)
        values.append(math.nan if value is None else float(value))
    return float(sum(values) / len(values)) if values else math.nan
