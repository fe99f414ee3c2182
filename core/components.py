"""Pluggable experiment parts: a run's model, loss, optimizer, schedule and transforms, each named in the run config
by a registered id or a ``"module:attribute"`` reference, alone or with parameters (``{"name": ..., "params":
{...}}``).

:func:`resolve_part` finds one (registry lookup, else import), checks its parameters against the factory's own
signature and returns a :class:`Part` that builds it later; :func:`resolve_run` does that for every part of a
run, so a bad id, a reference that does not import or a parameter the factory does not take is a one-line error
before any data is touched. A part's description (:meth:`Part.describe`) names the factory by its fully
qualified ``module:qualname``: the record's ``components`` section. Standard library only at import.

A factory is called with the positional values of its kind (:data:`POSITIONAL`), then the run values it takes
by name (its ``context``: :data:`medhub.core.registry.CONTEXT` lists what each kind offers), then its parameters: the entry's defaults
under the config's ``params``; a parameter named like a context value replaces that value.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from medhub.core.errors import MedhubError, UnknownIdError
from medhub.core.registry import COMPONENT_LISTING, TASKS, ModelInfo, got, ref_name

# option or kind -> what the factory gets positionally (before its keyword values)
POSITIONAL: dict[str, tuple[str, ...]] = {"model": ("in_channels", "out_channels"), "loss": (),
                                         "optimizer": ("parameters",), "schedule": ("optimizer",), "transform": ()}
# the context a "module:attribute" reference gets, where its signature takes it (registered entries declare theirs)
REFERENCE_CONTEXT: dict[str, tuple[str, ...]] = {"model": (), "loss": (), "optimizer": ("lr", "weight_decay"),
                                                 "schedule": ("total_steps", "warmup_steps", "steps_per_epoch"),
                                                 "transform": ()}
STAGES = ("train", "eval")


def is_reference(name: str) -> bool:
    """Whether a component name is a ``"module:attribute"`` reference rather than a registered id."""
    return ":" in name


def spec_problem(value: Any) -> str | None:
    """None when ``value`` names a component (a non-empty string, or ``{"name": str, "params": mapping}``,
    ``params`` optional), else what is wrong with it."""
    if isinstance(value, str):
        return None if value.strip() else "an empty name"
    if not isinstance(value, dict):
        return f"{got(value)} is neither a name nor a mapping"
    extra = sorted(set(value) - {"name", "params"})
    if extra:
        return f"unknown key {got(extra[0])} (a component mapping has name and params)"
    if not isinstance(value.get("name"), str) or not value["name"].strip():
        return '"name" must be a non-empty string'
    params = value.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        return f'"params" must be a mapping with string keys, got {got(params)}'
    return None


def config_references(config: Mapping[str, Any]) -> list[str]:
    """The ``"module:attribute"`` references a config's components name — code medhub would import to build
    them — as ``"option: reference"`` lines (``transforms.train: pkg.mod:Crop``), in option order."""
    named = [(key, config.get(key)) for key in ("model", "loss", "optimizer", "schedule")]
    transforms = config.get("transforms")
    if isinstance(transforms, Mapping):
        for stage in STAGES:
            values = transforms.get(stage)
            named += [(f"transforms.{stage}", value) for value in values] if isinstance(values, list) else []
    return [f"{key}: {component_name(value)}" for key, value in named
            if value is not None and spec_problem(value) is None and is_reference(component_name(value))]


def split_spec(value: Any) -> tuple[str, dict[str, Any]]:
    """``(name, params)`` of a component value (a name alone has no parameters)."""
    if isinstance(value, str):
        return value.strip(), {}
    return str(value["name"]).strip(), dict(value.get("params") or {})


def component_name(value: Any) -> str:
    """The name a component value gives (its id or reference)."""
    return split_spec(value)[0]


def qualified_name(obj: Any) -> str:
    """``module:qualname`` of a class or function (what the record names a factory by)."""
    return ref_name(obj) or "?"


@dataclass(frozen=True)
class Part:
    """One resolved component: where the config names it, its entry (None for a reference), the imported
    factory, the parameters it is called with and the names of the context values it takes."""

    where: str
    kind: str
    name: str
    entry: Any
    factory: Callable[..., Any]
    params: dict[str, Any] = field(default_factory=dict)
    context: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The registered id, or the reference as written."""
        return self.entry.id if self.entry is not None else self.name

    def build(self, *positional: Any, **context: Any) -> Any:
        """Call the factory with ``positional``, the context values it takes (of ``context``) and its parameters."""
        missing = [name for name in self.context if name not in context]
        if missing:
            raise MedhubError(f'{self.where} "{self.name}": no value for {", ".join(missing)} here')
        chosen = {name: context[name] for name in self.context}
        try:
            return self.factory(*positional, **chosen, **self.params)
        except MedhubError:
            raise
        except (TypeError, ValueError, RuntimeError, AttributeError, KeyError, IndexError) as err:
            raise MedhubError(f'{self.where} "{self.name}" failed when built ({type(err).__name__}: '
                              f"{one_line(err) or 'no message'}): check its parameters, or use a registered "
                              f"{self.kind} (hub plugins --all lists them)") from err

    def describe(self) -> dict[str, Any]:
        """The record's entry: ``name`` as configured, the registered ``id`` (None for a reference), the factory's
        ``module:qualname``, its parameters, the context values it took and the registering plugin."""
        return {"name": self.name, "id": self.entry.id if self.entry is not None else None,
                "ref": qualified_name(self.factory), "params": dict(self.params), "context": list(self.context),
                "plugin": getattr(self.entry, "plugin", "") if self.entry is not None else ""}


def one_line(text: str) -> str:
    """``text`` on one line (exception messages may span several)."""
    return " ".join(str(text).split())


def import_reference(reference: str, where: str) -> Any:
    """The object ``"module:attribute"`` names; a one-line MedhubError naming ``where`` and the reference when
    it does not import."""
    from medhub.core.registry import resolve_ref

    module, _, attr = reference.partition(":")
    if not module.strip() or not attr.strip():
        raise MedhubError(f'{where} "{reference}": a reference is "package.module:attribute"')
    try:
        return resolve_ref(reference.strip())
    except MedhubError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to import is the user's to fix
        raise MedhubError(f'{where} "{reference}" does not import ({type(exc).__name__}: {one_line(exc)}); check '
                          "the module and attribute names and that its package is installed") from None


def signature_of(factory: Any) -> inspect.Signature | None:
    """The factory's call signature (a class: its constructor's), None where Python cannot tell (C callables)."""
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):
        return None


def keyword_names(factory: Any, positional: int) -> tuple[list[str], bool] | None:
    """``(names the factory takes by keyword after its first positional values, whether it takes **kwargs)``."""
    sig = signature_of(factory)
    if sig is None:
        return None
    taken = list(sig.parameters.values())
    slots = [p for p in taken if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:positional]
    names = [p.name for p in taken if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p not in slots]
    return names, any(p.kind is p.VAR_KEYWORD for p in taken)


def check_call(factory: Any, positional: int, keywords: Iterable[str], where: str) -> None:
    """A MedhubError naming ``where`` unless ``factory(<positional values>, **keywords)`` binds: a keyword it does
    not take (listing those it does), or a required parameter left out. Callables without a signature pass."""
    sig, found = signature_of(factory), keyword_names(factory, positional)
    if sig is None or found is None:
        return
    keywords = list(keywords)
    names, any_keyword = found
    unknown = [k for k in keywords if k not in names]
    if unknown and not any_keyword:
        takes = ", ".join(names) or "no parameters"
        raise MedhubError(f"{where}: {qualified_name(factory)} does not take {', '.join(map(repr, unknown))}; "
                          f"it takes: {takes}")
    try:
        sig.bind(*[None] * positional, **dict.fromkeys(keywords))
    except TypeError as exc:
        raise MedhubError(f"{where}: {qualified_name(factory)} cannot be called with these parameters ({exc})") \
            from None


def lookup(table: Any, kind: str, name: str, where: str) -> Any:
    """The entry ``name`` of ``table``; an unknown id is a MedhubError naming ``where`` and the closest ids."""
    try:
        return table.get(name)
    except UnknownIdError as exc:
        hint = f" Did you mean: {', '.join(exc.suggestions)}?" if exc.suggestions else ""
        raise MedhubError(f'{where}: unknown {kind} "{name}".{hint} List them with: {COMPONENT_LISTING}') from None


def reference_context(kind: str, factory: Any, params: Mapping[str, Any]) -> tuple[str, ...]:
    """The context values a reference's factory takes by name (and its parameters do not set)."""
    found = keyword_names(factory, len(POSITIONAL[kind]))
    names = found[0] if found is not None else []
    return tuple(n for n in REFERENCE_CONTEXT[kind] if n in names and n not in params)


def resolve_part(kind: str, where: str, value: Any, registry: Any) -> Part:
    """One component of ``kind`` (``loss``, ``optimizer``, ``schedule``, ``model``, ``transform``) as the config
    names it at ``where``, imported and checked: its parameters against its entry's (models) or its factory's
    signature."""
    problem = spec_problem(value)
    if problem is not None:
        raise MedhubError(f"{where}: {problem}")
    name, given = split_spec(value)
    if is_reference(name):
        factory = import_reference(name, where)
        if not callable(factory):
            raise MedhubError(f'{where} "{name}" is {got(factory)}, not a class or function')
        part = Part(where, kind, name, None, factory, given, reference_context(kind, factory, given))
    else:
        entry = lookup(table_of(registry, kind), kind, name, where)
        factory = import_reference(entry.factory, f'{where} "{name}" (plugin "{entry.plugin}"): its factory') \
            if isinstance(entry.factory, str) else entry.factory
        if kind == "model":
            check_hparams(entry, given, where)
            part = Part(where, kind, name, entry, factory, given)
        else:
            params = {**entry.params, **given}
            context = tuple(n for n in entry.context if n not in params)
            part = Part(where, kind, name, entry, factory, params, context)
    check_call(part.factory, len(POSITIONAL[kind]), [*part.context, *part.params], f'{where} "{name}"')
    return part


def table_of(registry: Any, kind: str) -> Any:
    """The registry's table of ``kind``."""
    return {"model": registry.models, "loss": registry.losses, "optimizer": registry.optimizers,
            "schedule": registry.schedules, "transform": registry.transforms}[kind]


def check_hparams(entry: ModelInfo, given: Mapping[str, Any], where: str) -> None:
    """A registered model's hyper-parameters must be among those it lists (when it lists any)."""
    unknown = sorted(set(given) - set(entry.hparams))
    if unknown and entry.hparams:
        raise MedhubError(f'{where} "{entry.id}": unknown hyper-parameter {", ".join(map(repr, unknown))}; '
                          f'valid: {", ".join(sorted(entry.hparams))}')


# ---------------------------------------------------------------------------------------------- a run's parts
def model_hparams(config: Any) -> dict[str, Any]:
    """The hyper-parameters a run builds its model with: ``model_hparams`` under the ``model`` mapping's
    ``params``."""
    return {**dict(config.model_hparams), **split_spec(config.model)[1]}


def model_part(config: Any, registry: Any) -> Part:
    """The run's model: a registered model, or a ``"module:attribute"`` factory ``(in_channels, out_channels,
    **hparams)``, with :func:`model_hparams`."""
    name = component_name(config.model)
    return resolve_part("model", "model", {"name": name, "params": model_hparams(config)}, registry)


def model_entry(part: Part) -> ModelInfo:
    """The registered model of ``part``, or an entry standing in for a reference (any task, 2D and 3D)."""
    if part.entry is not None:
        return part.entry
    return ModelInfo(id=part.name, factory=part.factory, tasks=TASKS, dims=(2, 3), title=part.name)


def build_model(config: Any, registry: Any, in_channels: int, out_channels: int) -> Any:
    """The run's model, built (what training and inference both call): a registered model by
    :meth:`ModelInfo.build` (its default hyper-parameters under the run's, and the dataset's ``dims`` for a
    factory that takes them), a reference by its factory."""
    part = model_part(config, registry)
    dims = registry.dataset(config.dataset).dims
    return model_entry(part).build(in_channels, out_channels, dims=dims, **part.params)


def default_transforms(task: str, augment: bool) -> dict[str, list[str]]:
    """The built-in pipeline of a task: ``preprocess`` (the deterministic steps the preprocessing options
    choose), then for training a random ``patch`` (segmentation) and, with ``augment``, flips (and intensity
    changes for segmentation)."""
    train = ["preprocess"]
    if task == "segmentation":
        train += ["patch", "flip", "intensity"] if augment else ["patch"]
    elif augment:
        train += ["flip"]
    return {"train": train, "eval": ["preprocess"]}


def transform_values(config: Any, task: str, stage: str) -> list[Any]:
    """The transform values of ``stage`` (``train`` / ``eval``): the config's list, else the task's default."""
    given = config.transforms or {}
    if stage in given:
        return list(given[stage])
    return default_transforms(task, config.augment)[stage]


def transform_parts(config: Any, registry: Any, task: str, stage: str) -> list[Part]:
    """The resolved transforms of ``stage``; ``eval`` refuses random ones (they would make scores vary)."""
    parts = [resolve_part("transform", f"transforms.{stage}[{i}]", value, registry)
             for i, value in enumerate(transform_values(config, task, stage))]
    if stage == "eval":
        for part in parts:
            if is_random_part(part):
                raise MedhubError(f'{part.where} "{part.name}" is a random transform: transforms.eval must be '
                                  "deterministic (put augmentations in transforms.train)")
    return parts


def is_random_part(part: Part) -> bool:
    """Whether a transform part is random: its entry says so, or its factory (a class) has ``random = True``."""
    return bool(part.entry.random) if part.entry is not None else bool(getattr(part.factory, "random", False))


@dataclass(frozen=True)
class RunParts:
    """Every component of a run, resolved and checked."""

    model: Part
    loss: Part
    optimizer: Part
    schedule: Part
    transforms: dict[str, list[Part]]

    def describe(self) -> dict[str, Any]:
        """The record's ``components`` section."""
        return {"model": self.model.describe(), "loss": self.loss.describe(),
                "optimizer": self.optimizer.describe(), "schedule": self.schedule.describe(),
                "transforms": {stage: [p.describe() for p in parts] for stage, parts in self.transforms.items()}}


def resolve_run(config: Any, registry: Any, task: str) -> RunParts:
    """Every component of a run with ``config`` on a dataset of ``task``, checked before any work: ids, imports,
    parameters, the loss's task, warm-up support of the schedule, and ``augment`` beside a transforms list."""
    loss = resolve_part("loss", "loss", config.loss, registry)
    if loss.entry is not None and task not in loss.entry.tasks:
        raise MedhubError(f'loss "{loss.name}" is for {" / ".join(loss.entry.tasks)}, not {task}: choose a loss of '
                          f'{task} ({", ".join(e.id for e in registry.losses if task in e.tasks)})')
    schedule = resolve_part("schedule", "schedule", config.schedule, registry)
    if config.warmup_epochs and "warmup_steps" not in schedule.context and "warmup_steps" not in schedule.params:
        raise MedhubError(f'schedule "{schedule.name}" takes no warmup_steps, so warmup_epochs={config.warmup_epochs} '
                          "cannot apply: set warmup_epochs to 0 or use a schedule with warm-up (poly, cosine, constant)")
    if config.transforms and "train" in config.transforms and not config.augment:
        raise MedhubError("augment=false shapes the default transforms only: with a transforms.train list, leave "
                          "the augmentations out of that list instead")
    return RunParts(model=model_part(config, registry), loss=loss,
                    optimizer=resolve_part("optimizer", "optimizer", config.optimizer, registry), schedule=schedule,
                    transforms={stage: transform_parts(config, registry, task, stage) for stage in STAGES})

