"""Registry entries (cheap metadata) and the registry that holds what the plugins registered.

Entries hold plain values plus *lazy* references to heavy code: a factory or parser is either a
callable or a ``"package.module:attribute"`` string that is imported only when it is first used.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from medhub.core.errors import MedhubError, UnknownIdError
from medhub.core.ids import check_alias, check_file_name, check_registry_id

TASKS = ("segmentation", "classification", "regression")
ACCESS = ("open", "registration", "kaggle", "manual", "generated")
DIRECTIONS = ("max", "min")
METRIC_KINDS = ("per_case", "dataset")
URL_SCHEMES = ("http", "https")
DIGEST_HEX_DIGITS = {"md5": 32, "sha256": 64}
LABEL_VALUE = re.compile(r"[0-9]+\Z")
DATASET_TEXT_FIELDS = ("title", "layout", "license", "citation", "homepage", "instructions", "version",
                       "description", "ranking_metric", "plugin")


class DuplicateIdError(MedhubError):
    """Two plugins (or cards) register the same id or alias: a hard error naming both, never skipped."""


def got(value: object) -> str:
    """``value`` shown in an error on one line: a short repr, after its type unless it is a string
    (``'file:///etc'``, ``list [1, 2]``)."""
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return text if isinstance(value, str) else f"{type(value).__name__} {text}"


def require_text(value: object, name: str, owner: str) -> None:
    """A MedhubError naming ``owner`` and field ``name`` unless ``value`` is a string."""
    if not isinstance(value, str):
        raise MedhubError(f'{owner}: "{name}" must be a string, got {got(value)}')


def require_choice(value: object, choices: tuple[str, ...], name: str, owner: str) -> None:
    """A MedhubError unless ``value`` is one of the strings ``choices``."""
    if not (isinstance(value, str) and value in choices):
        raise MedhubError(f'{owner}: "{name}" must be one of {", ".join(choices)}, got {got(value)}')


def require_dims(value: object, name: str, owner: str) -> None:
    """A MedhubError unless ``value`` is the integer 2 or 3 (not a bool, a float or a string)."""
    if type(value) is not int or value not in (2, 3):
        raise MedhubError(f'{owner}: "{name}" must be 2 or 3 (an integer), got {got(value)}')


def require_texts(value: object, name: str, owner: str) -> tuple[str, ...]:
    """``value`` as a tuple when it is a list or tuple of strings, else a MedhubError naming the field."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise MedhubError(f'{owner}: "{name}" must be a list of strings, got {got(value)}')
    return tuple(value)


def require_mapping(value: object, name: str, owner: str) -> None:
    """A MedhubError unless ``value`` is a mapping with string keys."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise MedhubError(f'{owner}: "{name}" must be a mapping with string keys, got {got(value)}')


def require_text_mapping(value: object, name: str, owner: str, keys: re.Pattern[str] | None = None) -> None:
    """A MedhubError unless ``value`` maps strings (matching ``keys`` when given) to strings."""
    require_mapping(value, name, owner)
    for key, item in value.items():  # type: ignore[union-attr]
        if keys is not None and not keys.match(key):
            raise MedhubError(f'{owner}: "{name}" key {got(key)} must be a label value in digits ("0", "1", ...)')
        if not isinstance(item, str):
            raise MedhubError(f'{owner}: "{name}.{key}" must be a string, got {got(item)}')


def require_ref(value: object, name: str, owner: str, optional: bool = False) -> None:
    """A MedhubError unless ``value`` is a callable or a ``"module:attribute"`` string (or None when optional)."""
    if (value is None and optional) or callable(value) or (isinstance(value, str) and ":" in value):
        return
    raise MedhubError(f'{owner}: "{name}" must be a callable or a "package.module:attribute" string, got {got(value)}')


def check_url(url: object, name: str, owner: str) -> None:
    """A MedhubError unless ``url`` is an http(s) URL with a host (``file://`` and other schemes are refused)."""
    require_text(url, name, owner)
    parts = urlsplit(str(url))
    if parts.scheme.lower() not in URL_SCHEMES or not parts.netloc:
        raise MedhubError(f'{owner}: "{name}" must be an http:// or https:// URL, got {got(url)}')


def resolve_ref(ref: Callable[..., Any] | str) -> Callable[..., Any]:
    """Turn ``"pkg.module:attr"`` into the object it names; return callables unchanged."""
    if callable(ref):
        return ref
    module_name, _, attr = str(ref).partition(":")
    if not attr:
        raise MedhubError(f'bad reference "{ref}": expected "package.module:attribute"')
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def ref_name(ref: Callable[..., Any] | str | None) -> str | None:
    """A printable name for a lazy reference (for ``hub info``)."""
    if ref is None or isinstance(ref, str):
        return ref
    return f"{getattr(ref, '__module__', '?')}:{getattr(ref, '__qualname__', repr(ref))}"


@dataclass(frozen=True)
class Source:
    """One file of a dataset: where to fetch it and how to check it."""

    url: str
    filename: str
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    extract: bool = True

    def validate(self, where: str) -> None:
        """Raise MedhubError naming ``where`` (e.g. ``dataset "x/y": sources[0]``) and the first bad field:
        an http(s) URL, a bare file name, md5 / sha256 as 32 / 64 hex digits (at least one of them), a
        non-negative integer size, a boolean extract."""
        check_url(self.url, "url", where)
        check_file_name(self.filename, f'{where}: "filename"')
        for name, digits in DIGEST_HEX_DIGITS.items():
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and re.fullmatch(f"[0-9a-fA-F]{{{digits}}}", value)):
                raise MedhubError(f'{where}: "{name}" must be {digits} hex digits, got {got(value)}')
        if not (self.md5 or self.sha256):
            raise MedhubError(f'{where} ("{self.filename}") needs an md5 or a sha256 checksum')
        if self.size is not None and (type(self.size) is not int or self.size < 0):
            raise MedhubError(f'{where}: "size" must be a number of bytes (an integer >= 0), got {got(self.size)}')
        if not isinstance(self.extract, bool):
            raise MedhubError(f'{where}: "extract" must be true or false, got {got(self.extract)}')

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class DatasetInfo:
    """A dataset's card: identity, task, provenance, access, default preprocessing and metrics.

    ``layout`` names a registered layout parser; ``layout_options`` are passed to it.
    ``generator`` (``"module:function"`` or callable ``(root: Path, seed: int) -> None``) builds the
    dataset locally (``synthetic/*``) instead of downloading ``sources``.
    """

    id: str
    title: str
    task: str
    dims: int
    layout: str
    modality: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    license: str = ""
    citation: str = ""
    homepage: str = ""
    access: str = "open"
    sources: tuple[Source, ...] = ()
    aliases: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    ranking_metric: str = ""
    ranking_direction: str = "max"
    preprocessing: dict[str, Any] = field(default_factory=dict)
    instructions: str = ""
    version: str = "1"
    generator: Callable[..., Any] | str | None = None
    layout_options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    plugin: str = ""

    def validate(self) -> None:
        """Raise MedhubError naming the first invalid field: the id grammar (:mod:`medhub.core.ids`), the
        aliases, the type of every field (strings, str->str mappings with digit label keys, lists of strings,
        dims 2 or 3) and each source (:meth:`Source.validate`). Cards and Python plugins share these checks."""
        check_registry_id(self.id, "dataset")
        owner = f'dataset "{self.id}"'
        for alias in require_texts(self.aliases, "aliases", owner):
            check_alias(alias, "dataset", self.id)
        for name in DATASET_TEXT_FIELDS:
            require_text(getattr(self, name), name, owner)
        require_choice(self.task, TASKS, "task", owner)
        require_dims(self.dims, "dims", owner)
        require_choice(self.access, ACCESS, "access", owner)
        require_choice(self.ranking_direction, DIRECTIONS, "ranking_direction", owner)
        require_text_mapping(self.modality, "modality", owner)
        require_text_mapping(self.labels, "labels", owner, keys=LABEL_VALUE)
        require_texts(self.metrics, "metrics", owner)
        require_mapping(self.preprocessing, "preprocessing", owner)
        require_mapping(self.layout_options, "layout_options", owner)
        require_ref(self.generator, "generator", owner, optional=True)
        self.validate_sources(owner)

    def validate_sources(self, owner: str) -> None:
        """Each of ``sources`` is a valid :class:`Source` (errors name ``sources[i]``)."""
        if not isinstance(self.sources, (list, tuple)):
            raise MedhubError(f'{owner}: "sources" must be a list of sources, got {got(self.sources)}')
        for i, src in enumerate(self.sources):
            if not isinstance(src, Source):
                raise MedhubError(f"{owner}: sources[{i}] must be a Source, got {got(src)}")
            src.validate(f"{owner}: sources[{i}]")

    def to_json(self) -> dict[str, Any]:
        """The full card as plain JSON values."""
        out = dataclasses.asdict(self)
        out["sources"] = [s.to_json() for s in self.sources]
        out["aliases"] = list(self.aliases)
        out["metrics"] = list(self.metrics)
        out["generator"] = ref_name(self.generator)
        return out


@dataclass
class ModelInfo:
    """A model entry: ``factory(in_channels, out_channels, **hparams) -> torch.nn.Module`` returning logits."""

    id: str
    factory: Callable[..., Any] | str
    tasks: tuple[str, ...]
    dims: tuple[int, ...]
    citation: str = ""
    title: str = ""
    hparams: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    description: str = ""
    plugin: str = ""

    def validate(self) -> None:
        """Raise MedhubError naming the first invalid field (id grammar, aliases, tasks, dims, factory)."""
        check_registry_id(self.id, "model")
        owner = f'model "{self.id}"'
        for alias in require_texts(self.aliases, "aliases", owner):
            check_alias(alias, "model", self.id)
        tasks = self.tasks if isinstance(self.tasks, (list, tuple)) else ()
        if not tasks or any(t not in TASKS for t in tasks):
            raise MedhubError(f'{owner}: tasks {got(self.tasks)} must be a non-empty subset of {TASKS}')
        dims = self.dims if isinstance(self.dims, (list, tuple)) else ()
        if not dims or any(type(d) is not int or d not in (2, 3) for d in dims):
            raise MedhubError(f"{owner}: dims must be a non-empty subset of (2, 3), got {got(self.dims)}")
        for name in ("title", "citation", "description", "plugin"):
            require_text(getattr(self, name), name, owner)
        require_mapping(self.hparams, "hparams", owner)
        require_ref(self.factory, "factory", owner)

    def build(self, in_channels: int, out_channels: int, **hparams: Any) -> Any:
        """Instantiate the model with the registered defaults overridden by ``hparams``."""
        unknown = sorted(set(hparams) - set(self.hparams))
        if unknown and self.hparams:
            from medhub.core.errors import closest

            hints = {k: closest(k, self.hparams) for k in unknown}
            msg = "; ".join(f'"{k}"' + (f" (did you mean {', '.join(v)}?)" if v else "") for k, v in hints.items())
            raise MedhubError(f'model "{self.id}": unknown hyper-parameter {msg}; valid: {", ".join(sorted(self.hparams))}')
        params = {**self.hparams, **hparams}
        return resolve_ref(self.factory)(in_channels, out_channels, **params)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["factory"] = ref_name(self.factory)
        out["tasks"] = list(self.tasks)
        out["dims"] = list(self.dims)
        out["aliases"] = list(self.aliases)
        return out


@dataclass
class LayoutInfo:
    """A layout parser: ``parse(root: Path, dataset: DatasetInfo) -> dict[str, list[dict]]``.

    The parser returns the dataset's official parts as lists of case dicts, at least ``"train"``
    (labelled cases) and, where the distribution has them, ``"test"`` and an official ``"val"``.
    ``verify(root, dataset) -> list[str]`` returns human-readable problems (missing / extra files).
    ``submission`` names the challenge's package format (a :class:`medhub.core.submission.formats.SubmissionFormat`
    or ``"module:attribute"`` of one) used by ``hub submit``; None = medhub's default for the task.
    """

    id: str
    parse: Callable[..., Any] | str
    verify: Callable[..., Any] | str | None = None
    description: str = ""
    plugin: str = ""
    submission: Any = None

    def validate(self) -> None:
        """Raise MedhubError naming the first invalid field (id grammar, parse / verify references)."""
        check_registry_id(self.id, "layout")
        owner = f'layout "{self.id}"'
        require_ref(self.parse, "parse", owner)
        require_ref(self.verify, "verify", owner, optional=True)
        for name in ("description", "plugin"):
            require_text(getattr(self, name), name, owner)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "parse": ref_name(self.parse), "verify": ref_name(self.verify),
                "description": self.description, "plugin": self.plugin,
                "submission": ref_name(self.submission) if isinstance(self.submission, str) else
                (type(self.submission).__name__ if self.submission is not None else None)}


@dataclass
class MetricInfo:
    """A metric: ``fn`` computes it; ``task`` says which kind of predictions it scores.

    ``kind`` is ``"per_case"`` (segmentation: one value per case and label, then aggregated) or
    ``"dataset"`` (classification / regression: one value from all cases).
    """

    id: str
    fn: Callable[..., Any] | str
    task: str
    direction: str
    kind: str = "per_case"
    description: str = ""
    aliases: tuple[str, ...] = ()
    plugin: str = ""

    def validate(self) -> None:
        """Raise MedhubError naming the first invalid field (id grammar, aliases, task, direction, kind, fn)."""
        check_registry_id(self.id, "metric")
        owner = f'metric "{self.id}"'
        for alias in require_texts(self.aliases, "aliases", owner):
            check_alias(alias, "metric", self.id)
        require_choice(self.task, TASKS, "task", owner)
        require_choice(self.direction, DIRECTIONS, "direction", owner)
        require_choice(self.kind, METRIC_KINDS, "kind", owner)
        require_ref(self.fn, "fn", owner)
        for name in ("description", "plugin"):
            require_text(getattr(self, name), name, owner)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["fn"] = ref_name(self.fn)
        out["aliases"] = list(self.aliases)
        return out


T = TypeVar("T", DatasetInfo, ModelInfo, LayoutInfo, MetricInfo)


class Table(Generic[T]):
    """Entries of one kind keyed by id, with aliases, wildcard listing and helpful lookup errors."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def add(self, entry: T) -> None:
        """Add an entry; a duplicate id or alias is a :class:`DuplicateIdError` naming both plugins."""
        names = [entry.id, *getattr(entry, "aliases", ())]
        for name in names:
            key = name.lower()
            owner_id = self._entries[key].id if key in self._entries else self._aliases.get(key)
            if owner_id is not None:
                other = self._entries[owner_id.lower()]
                raise DuplicateIdError(
                    f'duplicate {self.kind} id "{name}": registered by plugin "{other.plugin}" '
                    f'and by plugin "{entry.plugin}"; uninstall one of them or rename the id'
                )
        self._entries[entry.id.lower()] = entry
        for alias in getattr(entry, "aliases", ()):
            self._aliases[alias.lower()] = entry.id

    def remove(self, entry_id: str) -> None:
        """Drop an entry and its aliases (used for entries that failed validation)."""
        entry = self._entries.pop(entry_id.lower(), None)
        if entry is not None:
            for alias in getattr(entry, "aliases", ()):
                self._aliases.pop(alias.lower(), None)

    def get(self, name: str) -> T:
        """Look up by id or alias (case-insensitive); unknown names raise with close matches."""
        key = name.lower()
        if key in self._aliases:
            key = self._aliases[key].lower()
        try:
            return self._entries[key]
        except KeyError:
            known = [e.id for e in self._entries.values()]
            known += [a for e in self._entries.values() for a in getattr(e, "aliases", ())]
            raise UnknownIdError(self.kind, name, known) from None

    def __contains__(self, name: str) -> bool:
        key = name.lower()
        return key in self._entries or key in self._aliases

    def __iter__(self) -> Iterator[T]:
        return iter(sorted(self._entries.values(), key=lambda e: e.id))

    def __len__(self) -> int:
        return len(self._entries)

    def ids(self) -> list[str]:
        return [e.id for e in self]

    def match(self, pattern: str | None = None) -> list[T]:
        """Entries whose id or an alias matches the fnmatch ``pattern`` (all when None)."""
        if not pattern:
            return list(self)
        pat = pattern.lower()
        return [e for e in self if any(fnmatch.fnmatchcase(n.lower(), pat) for n in (e.id, *getattr(e, "aliases", ())))]


@dataclass
class Registry:
    """Everything the loaded plugins registered."""

    datasets: Table[DatasetInfo] = field(default_factory=lambda: Table("dataset"))
    models: Table[ModelInfo] = field(default_factory=lambda: Table("model"))
    layouts: Table[LayoutInfo] = field(default_factory=lambda: Table("layout"))
    metrics: Table[MetricInfo] = field(default_factory=lambda: Table("metric"))

    def dataset(self, name: str) -> DatasetInfo:
        """A dataset by id or alias."""
        return self.datasets.get(name)

    def model(self, name: str) -> ModelInfo:
        """A model by id or alias."""
        return self.models.get(name)

    def layout(self, name: str) -> LayoutInfo:
        """A layout parser by id."""
        return self.layouts.get(name)

    def metric(self, name: str) -> MetricInfo:
        """A metric by id or alias."""
        return self.metrics.get(name)

    def metric_direction(self, name: str) -> str | None:
        """``"max"`` or ``"min"``: which way the metric ``name`` improves; a per-label or per-region name
        (``dice/1``, ``dice/ET``) is its metric's. None when no plugin registered that metric."""
        base = name.split("/", 1)[0]
        return self.metrics.get(base).direction if base in self.metrics else None

    def entry(self, name: str) -> DatasetInfo | ModelInfo:
        """A dataset or a model (datasets first); unknown ids suggest from both."""
        for table in (self.datasets, self.models):
            if name in table:
                return table.get(name)
        known: Iterable[str] = [*self.datasets.ids(), *self.models.ids()]
        known = [*known, *[a for e in self.datasets for a in e.aliases], *[a for e in self.models for a in e.aliases]]
        raise UnknownIdError("dataset or model", name, known, listing="hub datasets / hub models")
