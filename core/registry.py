"""Registry entries (cheap metadata) and the registry that holds what the plugins registered.

Entries hold plain values plus *lazy* references to heavy code: a factory or parser is either a
callable or a ``"package.module:attribute"`` string that is imported only when it is first used.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from medhub.core.errors import MedhubError, UnknownIdError

TASKS = ("segmentation", "classification", "regression")
ACCESS = ("open", "registration", "kaggle", "manual", "generated")
DIRECTIONS = ("max", "min")


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
        """Raise MedhubError naming the first invalid field."""
        if not self.id or self.id != self.id.lower() or " " in self.id:
            raise MedhubError(f'dataset id "{self.id}" must be lower-case without spaces, like "family/name"')
        if self.task not in TASKS:
            raise MedhubError(f'dataset "{self.id}": task "{self.task}" is not one of {", ".join(TASKS)}')
        if self.dims not in (2, 3):
            raise MedhubError(f'dataset "{self.id}": dims must be 2 or 3, got {self.dims!r}')
        if self.access not in ACCESS:
            raise MedhubError(f'dataset "{self.id}": access "{self.access}" is not one of {", ".join(ACCESS)}')
        if self.ranking_direction not in DIRECTIONS:
            raise MedhubError(f'dataset "{self.id}": ranking_direction must be "max" or "min"')
        for src in self.sources:
            if not (src.md5 or src.sha256):
                raise MedhubError(f'dataset "{self.id}": source "{src.filename}" needs an md5 or a sha256')

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
        """Raise MedhubError naming the first invalid field."""
        if not self.id or self.id != self.id.lower():
            raise MedhubError(f'model id "{self.id}" must be lower-case')
        bad = [t for t in self.tasks if t not in TASKS]
        if bad or not self.tasks:
            raise MedhubError(f'model "{self.id}": tasks {list(self.tasks)} must be a non-empty subset of {TASKS}')
        if not self.dims or any(d not in (2, 3) for d in self.dims):
            raise MedhubError(f'model "{self.id}": dims must be a non-empty subset of (2, 3)')

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
    ``submission`` names the challenge's package format (a :class:`medhub.core.submit.SubmissionFormat`
    or ``"module:attribute"`` of one) used by ``hub submit``; None = medhub's default for the task.
    """

    id: str
    parse: Callable[..., Any] | str
    verify: Callable[..., Any] | str | None = None
    description: str = ""
    plugin: str = ""
    submission: Any = None

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
        """Add an entry; a duplicate id or alias is an error naming both plugins."""
        names = [entry.id, *getattr(entry, "aliases", ())]
        for name in names:
            key = name.lower()
            owner_id = self._entries[key].id if key in self._entries else self._aliases.get(key)
            if owner_id is not None:
                other = self._entries[owner_id.lower()]
                raise MedhubError(
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

    def entry(self, name: str) -> DatasetInfo | ModelInfo:
        """A dataset or a model (datasets first); unknown ids suggest from both."""
        for table in (self.datasets, self.models):
            if name in table:
                return table.get(name)
        known: Iterable[str] = [*self.datasets.ids(), *self.models.ids()]
        known = [*known, *[a for e in self.datasets for a in e.aliases], *[a for e in self.models for a in e.aliases]]
        raise UnknownIdError("dataset or model", name, known, listing="hub datasets / hub models")
