"""Load plugins (entry-point group ``medhub`` and dataset cards) into a Registry, one plugin at a time.

A plugin that fails to import, uses an unknown hook name, raises while registering (any exception, also
``SystemExit`` from ``sys.exit()``, except ``KeyboardInterrupt``), registers an invalid entry or id, or ships
a card that names an unknown layout is skipped and reported once on stderr; a user card that is not valid
is skipped the same way. ``MEDHUB_STRICT_PLUGINS=1`` turns any such failure into an error.
``MEDHUB_LOAD_PLUGINS=a,b`` limits the third-party distributions imported to the named ones (``""``: none, only
medhub's built-in plugins run code). Dataset cards in ``$MEDHUB_HOME/cards/`` are read whatever it says: a card
is the user's own data file, not code (checked field by field, it names a registered layout and runs nothing);
moving it out of that folder stops its use, and a card that fails to load says so.
While a plugin is imported and while its hooks run, its writes to ``sys.stdout`` go to stderr, so stdout
carries only the command's output (``--json``). Two plugins registering one id is a hard error
(:class:`DuplicateIdError`). ``os._exit()`` in a plugin ends the process; nothing can catch it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
from medhub.core import entry_points as metadata
from medhub.core import hookspecs
from medhub.core.cards import card_to_dataset, read_card_file
from medhub.core.errors import MedhubError, PluginError, closest
from medhub.core.paths import cards_dir
from medhub.core.registry import (
    DatasetInfo,
    DuplicateIdError,
    LayoutInfo,
    LossInfo,
    MetricInfo,
    ModelInfo,
    OptimizerInfo,
    Registry,
    ScheduleInfo,
    TransformInfo,
)

GROUP = "medhub"
BUILTIN_DIST = "medhub"
CARD_SUFFIXES = (".json", ".yaml", ".yml")
# Layouts and metrics first, so datasets can be checked against them.
HOOK_ORDER = ("register_layouts", "register_metrics", "register_datasets", "register_models", "register_losses",
              "register_optimizers", "register_schedules", "register_transforms")
_INFO_OF_KIND = {"layouts": LayoutInfo, "metrics": MetricInfo, "datasets": DatasetInfo, "models": ModelInfo,
                 "losses": LossInfo, "optimizers": OptimizerInfo, "schedules": ScheduleInfo,
                 "transforms": TransformInfo}
KINDS = tuple(_INFO_OF_KIND)  # registry tables, in the order hub plugins --json lists them
COMPONENT_KINDS = ("losses", "optimizers", "schedules", "transforms")


@dataclass
class PluginRecord:
    """What one plugin (or one user card file) contributed, and its error if it failed."""

    name: str
    version: str | None
    dist: str | None
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    layouts: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    optimizers: list[str] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    transforms: list[str] = field(default_factory=list)
    error: str | None = None

    def fail(self, message: str) -> None:
        self.error = message if self.error is None else f"{self.error}; {message}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "builtin": self.builtin, "hooks": self.hooks,
                **{kind: getattr(self, kind) for kind in KINDS}, "error": self.error}


@dataclass
class LoadedPlugins:
    """The registry and one record per plugin."""

    registry: Registry
    records: list[PluginRecord]

    def versions(self) -> dict[str, str | None]:
        """Distribution versions of every loaded plugin (for result records)."""
        return {r.dist or r.name: r.version for r in self.records if r.error is None}


def _selected(entry_points: list[metadata.EntryPoint]) -> list[metadata.EntryPoint]:
    wanted_env = os.environ.get("MEDHUB_LOAD_PLUGINS")
    wanted = None if wanted_env is None else {metadata.normalize(w.strip()) for w in wanted_env.split(",") if w.strip()}
    chosen, seen = [], set()
    for ep in entry_points:
        dist = _dist_name(ep)
        builtin = dist == BUILTIN_DIST
        if not builtin and wanted is not None and dist not in wanted:
            continue
        key = (ep.name, ep.value)
        if key not in seen:
            seen.add(key)
            chosen.append(ep)
    return sorted(chosen, key=lambda ep: (_dist_name(ep) != BUILTIN_DIST, ep.name))


def _dist_name(ep: metadata.EntryPoint) -> str:
    return metadata.normalize(ep.dist.name)


def _hook_names(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    names = []
    for attr in dir(plugin):
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if opts is not None:
            names.append(opts.get("specname") or attr)
    return names


def _import_and_register(pm: pluggy.PluginManager, rec: PluginRecord, ep: metadata.EntryPoint) -> None:
    _register_plugin(pm, rec, ep.load())


def _register_plugin(pm: pluggy.PluginManager, rec: PluginRecord, plugin: object) -> None:
    hooks = _hook_names(pm, plugin)
    unknown = [h for h in hooks if h not in hookspecs.HOOK_NAMES]
    if unknown:
        parts = []
        for name in unknown:
            near = closest(name, hookspecs.HOOK_NAMES, n=1)
            parts.append(f'unknown hook "{name}"' + (f" (did you mean {near[0]}?)" if near else ""))
        raise PluginError("; ".join(parts))
    rec.hooks = sorted(hooks)
    pm.register(plugin, name=rec.name)


def _registrar(registry: Registry, rec: PluginRecord, kind: str, origin: str) -> Callable[[Any], None]:
    table = getattr(registry, kind)
    info_type = _INFO_OF_KIND[kind]

    def register(entry: Any) -> None:
        if kind == "datasets" and isinstance(entry, (dict, str, Path)):
            card = read_card_file(Path(entry)) if isinstance(entry, (str, Path)) else entry
            entry = card_to_dataset(card, origin=str(entry) if not isinstance(entry, dict) else origin)
        if not isinstance(entry, info_type):
            raise MedhubError(f"{kind} hook: expected {info_type.__name__}, got {type(entry).__name__}")
        entry.plugin = rec.name
        entry.validate()
        table.add(entry)
        getattr(rec, kind).append(entry.id)

    return register


def _forget(registry: Registry, rec: PluginRecord) -> None:
    for kind in KINDS:
        table = getattr(registry, kind)
        for entry_id in getattr(rec, kind):
            table.remove(entry_id)
        getattr(rec, kind).clear()


def load_plugins(report: bool = True) -> LoadedPlugins:
    """Import every selected plugin, run its hooks and the user's cards; return registry and records."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    records: list[PluginRecord] = []

    for ep in _selected(metadata.entry_points(GROUP)):
        rec = PluginRecord(name=ep.name, version=ep.dist.version, dist=ep.dist.name,
                           builtin=_dist_name(ep) == BUILTIN_DIST)
        records.append(rec)
        failure = run_plugin_code(_import_and_register, pm, rec, ep)
        if failure is not None:
            rec.fail(_describe(failure))

    for hook_name in HOOK_ORDER:
        kind = hook_name.removeprefix("register_")
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            rec = next(r for r in records if r.name == impl.plugin_name)
            if rec.error:
                continue
            failure = run_plugin_code(impl.function, register=_registrar(registry, rec, kind, origin=rec.name))
            if failure is not None:
                own_words = isinstance(failure, MedhubError)
                rec.fail(str(failure) if own_words else f"{hook_name} raised {_describe(failure)}")
                _forget(registry, rec)

    records.extend(_load_user_cards(registry))
    _check_layouts(registry, records)

    failed = [r for r in records if r.error]
    if failed and os.environ.get("MEDHUB_STRICT_PLUGINS") == "1":
        lines = "; ".join(f'"{r.name}": {r.error}' for r in failed)
        raise PluginError(f"MEDHUB_STRICT_PLUGINS=1 and {len(failed)} plugin(s) failed to load: {lines}")
    if report:
        for r in failed:
            print(f'medhub: plugin "{r.name}" ({r.dist or "card"} {r.version or "-"}) failed to load: {r.error}',
                  file=sys.stderr)
    return LoadedPlugins(registry=registry, records=records)


def _load_user_cards(registry: Registry) -> list[PluginRecord]:
    """Register every card file in ``$MEDHUB_HOME/cards/`` (whatever ``MEDHUB_LOAD_PLUGINS`` selects: cards are
    data); one record per file, a card that fails carries its error and the fix."""
    folder = cards_dir()
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in CARD_SUFFIXES):
        rec = PluginRecord(name=f"cards/{path.name}", version=None, dist=None, builtin=False)
        records.append(rec)
        try:
            _registrar(registry, rec, "datasets", origin=str(path))(path)
        except DuplicateIdError:
            raise
        except MedhubError as exc:
            rec.fail(f"{exc}; fix the card or move it out of {folder} (the cards there are read whatever "
                     "MEDHUB_LOAD_PLUGINS selects)")
    return records


def _check_layouts(registry: Registry, records: list[PluginRecord]) -> None:
    for rec in records:
        for dataset_id in list(rec.datasets):
            info = registry.datasets.get(dataset_id)
            if info.layout not in registry.layouts:
                near = closest(info.layout, registry.layouts.ids())
                hint = f" (did you mean {', '.join(near)}?)" if near else ""
                rec.fail(f'dataset "{dataset_id}" names unknown layout "{info.layout}"{hint}; '
                         f"available layouts: {', '.join(registry.layouts.ids()) or 'none'}")
                registry.datasets.remove(dataset_id)
                rec.datasets.remove(dataset_id)


def run_plugin_code(call: Callable[..., object], *args: Any, **kwargs: Any) -> BaseException | None:
    """Run plugin code (an import or a hook: ``call(*args, **kwargs)``) with ``sys.stdout`` sent to stderr;
    return what it raised (None when it returned).

    Any exception, ``SystemExit`` (``sys.exit()``) and ``GeneratorExit`` included, is returned for the caller
    to report; ``KeyboardInterrupt`` (the user's Ctrl-C) and :class:`DuplicateIdError` (two plugins, one id:
    a hard error) propagate. Writes to file descriptor 1 itself (``os.write(1, ...)``, C code, child
    processes) and ``os._exit()`` are beyond what Python can redirect or catch."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            call(*args, **kwargs)
    except (KeyboardInterrupt, DuplicateIdError):
        raise
    except BaseException as exc:  # noqa: BLE001 - a plugin must not end or break the command
        return exc
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}): the plugin called sys.exit()"
    return f"{type(exc).__name__}: {exc}"


_LOADED: LoadedPlugins | None = None


def loaded() -> LoadedPlugins:
    """The process-wide plugins (loaded on first use, reported once)."""
    global _LOADED
    if _LOADED is None:
        _LOADED = load_plugins()
    return _LOADED


def get_registry() -> Registry:
    """The process-wide registry."""
    return loaded().registry


def reset() -> None:
    """Forget the loaded plugins (tests change MEDHUB_HOME and plugin selection between cases)."""
    global _LOADED
    _LOADED = None
