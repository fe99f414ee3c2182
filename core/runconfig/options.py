"""The run options: every key of a run's configuration, declared once, and the typed config object.

Each option is one field of :class:`RunConfig`, declared with :func:`option`: the kind of value it accepts
(:mod:`medhub.core.runconfig.kinds`), its default (or one per task, or per task and dimensions), whether
``hub run`` has a flag of its own for it (with the flag's metavar / nargs), whether a dataset card's
``preprocessing`` may set it, and its help text; the field's type annotation says whether null is
allowed. Everything else derives from this table: validation (:func:`validate_values`, used by
:meth:`RunConfig.from_dict`), the ``hub run`` flags and the ``--resume`` check
(:mod:`medhub.core.runconfig.flags`), and the options table of docs/runner.md, regenerated with::

    python -m medhub.core.runconfig.options --update docs/runner.md    # or --markdown to print it

A run's ``config.json`` is :meth:`RunConfig.to_dict` (a flat JSON dict); an old run folder whose file lacks
newer keys loads with their defaults, and saves and hashes as it was. Standard library only (``hub run
--help`` imports this module).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import typing
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError, closest
from medhub.core.runconfig.kinds import (
    AutoOr,
    Axes,
    Choice,
    Component,
    Count,
    Device,
    Interval,
    Kind,
    Mapping,
    Number,
    Switch,
    Text,
    Transforms,
)

TASKS = ("segmentation", "classification", "regression")
DEFAULT_DATASET = "synthetic/spheres"
_SPEC = "medhub.option"  # key of a RunConfig field's metadata that holds its Option


@dataclass(frozen=True)
class Flag:
    """An option's own ``hub run`` flag (``--patch-size``); ``metavar`` / ``nargs`` override the kind's."""

    metavar: str | None = None
    nargs: str | int | None = None


FLAG = Flag()


@dataclass(frozen=True)
class ByDims:
    """A default that depends on the dataset's spatial dimensions: ``{2: ..., 3: ...}``."""

    values: dict[int, Any]


@dataclass(frozen=True)
class Option:
    """One run option: name, kind of value, default(s), flag, help. Made by :func:`option`, completed (name,
    ``nullable`` from the field's annotation) when :data:`OPTIONS` is built."""

    kind: Kind
    help: str
    default: Any = MISSING
    per_task: dict[str, Any] = field(default_factory=dict)
    flag: Flag | None = None
    expected_text: str | None = None
    card: bool = True
    saved_at_default: bool = True
    name: str = ""
    nullable: bool = False

    @property
    def flag_name(self) -> str | None:
        """``--patch-size`` for ``patch_size`` when the option has a flag of its own, else None."""
        return f"--{self.name.replace('_', '-')}" if self.flag else None

    def has_default(self, task: str | None, dims: int | None = None) -> bool:
        """Whether the option has a value without being set (for ``task`` / ``dims`` when given)."""
        if task in self.per_task:
            value = self.per_task[task]
            return not isinstance(value, ByDims) or dims in value.values
        return self.default is not MISSING

    def default_for(self, task: str | None, dims: int | None = None) -> Any:
        """The default for a run of ``task`` on a ``dims``-D dataset (a fresh copy: safe to change)."""
        value = self.per_task.get(task, self.default) if task is not None else self.default
        if isinstance(value, ByDims):
            value = value.values[dims]
        if value is MISSING:
            raise KeyError(self.name)
        return copy.deepcopy(value)

    def expected(self, dims: int | None = None) -> str:
        """What the option accepts, in words."""
        return self.expected_text or self.kind.expected(dims)

    def text(self, value: Any) -> str:
        """The option set to ``value`` as the user wrote it: ``--patch-size 32 32`` for a flag, else
        ``sw_overlap=1.5 (--set or config file)``."""
        if self.flag:
            shown = " ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
            return f"{self.flag_name} {shown}"
        return f"{self.name}={json.dumps(value, default=str)} (--set or config file)"

    def problem(self, value: Any, dims: int | None = None) -> str | None:
        """None when ``value`` is valid, else the one-line message naming the flag or key and what it accepts."""
        if value is None and self.nullable:
            return None
        if value is not None and self.kind.accepts(value, dims):
            return None
        return f"{self.text(value)}: expected {self.expected(dims)}"


def option(kind: Kind, help: str, *, default: Any = MISSING, per_task: dict[str, Any] | None = None,
           flag: Flag | None = None, expected: str | None = None, card: bool = True,
           saved_at_default: bool = True) -> Any:
    """A :class:`RunConfig` field declaring one option.

    Args:
        kind: the values it accepts (:mod:`medhub.core.runconfig.kinds`).
        help: one line for ``hub run --help`` and docs/runner.md.
        default: its value when nothing sets it (an option without one takes ``per_task``'s).
        per_task: defaults by task (``{"segmentation": 10, ...}``; a value may be :class:`ByDims`).
        flag: a :class:`Flag` when ``hub run`` has a flag of its own for it (``FLAG``: the kind's argparse form).
        expected: what it accepts, in words, when the kind's own words say too little.
        card: whether a dataset card's ``preprocessing`` may set its default.
        saved_at_default: False for an option whose default (a task-free one) is left out of ``config.json`` and
            the config hash: the configs of runs that do not set it stay as they were before it existed.
    """
    spec = Option(kind=kind, help=help, default=default, per_task=dict(per_task or {}), flag=flag,
                  expected_text=expected, card=card, saved_at_default=saved_at_default)
    if default is MISSING:
        return field(metadata={_SPEC: spec})
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={_SPEC: spec})
    return field(default=default, metadata={_SPEC: spec})


# The default model of a dataset with no --model, by task and dimensions.
DEFAULT_MODEL = {"segmentation": ByDims({3: "unet3d", 2: "unet2d"}),
                 "classification": ByDims({2: "resnet18-2d", 3: "resnet18-3d"}),
                 "regression": ByDims({2: "resnet18-2d", 3: "resnet18-3d"})}


def _tasks(segmentation: Any, classification: Any, regression: Any) -> dict[str, Any]:
    return {"segmentation": segmentation, "classification": classification, "regression": regression}


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """A run's resolved configuration: one attribute per option (the option table of docs/runner.md).

    Made by :func:`medhub.core.runner.config.resolve` (defaults < task recipe < dataset card < model <
    config file < flags) or, for a saved run, :meth:`from_dict`; both validate. :meth:`to_dict` is what
    ``config.json`` holds and what ``config_hash`` hashes.

    Example:
        >>> from medhub.core.runconfig.options import RunConfig
        >>> config = RunConfig.from_dict({"model": "unet3d", "epochs": 2}, task="segmentation")
        >>> config.epochs, config.loss, config.patch_size
        (2, 'dice_ce', None)
    """

    # ------------------------------------------------------------------ what trains
    dataset: str = option(Text(), "dataset id or alias", default=DEFAULT_DATASET, flag=FLAG, card=False)
    model: str | dict[str, Any] = option(
        Component("model"), 'model id, or a "module:attr" factory (in_channels, out_channels, **hparams); '
        '{"name": ..., "params": {...}} adds hyper-parameters', per_task=DEFAULT_MODEL, flag=FLAG, card=False)
    model_hparams: dict[str, Any] = option(
        Mapping(), 'the model\'s hyper-parameters, over its defaults (e.g. {"channels": [8, 16, 32, 64]})',
        default={}, expected="a mapping of the model's hyper-parameters", card=False)
    # ------------------------------------------------------------------ training budget and split
    # Classification: 6 epochs of batch 16 (72 optimizer steps on synthetic/shapes) after a 1-epoch warm-up.
    # With batch 32 x 5 epochs (30 steps) the BatchNorm running statistics of resnet18-2d lagged far behind
    # its fast-moving early weights (running variance of the first layer ~3x the true one): 0.92 accuracy
    # in train mode, chance in eval mode.
    epochs: int = option(Count(1), "training epochs", per_task=_tasks(10, 6, 5), flag=FLAG)
    steps_per_epoch: int | None = option(
        Count(1), "optimizer steps per epoch (null: one pass over the training cases)",
        per_task=_tasks(16, None, None), flag=FLAG)
    batch_size: int = option(Count(1), "samples per optimizer step", per_task=_tasks(2, 16, 32), flag=FLAG)
    patch_size: list[int] | None = option(
        Axes(int, example=64), "training patch (segmentation) or input size (classification, regression) "
        "per spatial axis (null: the whole image)", default=None, flag=Flag(metavar="N"))
    fold: int = option(Count(0), "validation fold, 0 to folds - 1", default=0, flag=FLAG)
    folds: int = option(Count(2), "folds the training cases are split into", default=5, flag=FLAG)
    seed: int = option(Count(0), "seed of the split, the initial weights and the sampling", default=0, flag=FLAG)
    # ------------------------------------------------------------------ devices and precision
    device: str = option(Device(), "cpu, cuda, cuda:N, or several devices (cuda:0,1) with --model-parallel",
                         default="cpu", flag=FLAG)
    amp: str = option(Choice("auto", "bf16", "fp16", "off"),
                      "mixed precision; auto: bf16 (else fp16) on CUDA, off on the CPU", default="auto", flag=FLAG)
    channels_last: str | bool = option(AutoOr(Switch()), "channels-last memory format; auto: on CUDA",
                                       default="auto")
    deterministic: bool = option(Switch(), "deterministic algorithms on the CPU", default=True)
    deterministic_gpu: bool = option(Switch(), "deterministic cuDNN / cuBLAS kernels on CUDA (slower: no "
                                     "autotuner)", default=False)
    # ------------------------------------------------------------------ optimization
    optimizer: str | dict[str, Any] = option(
        Component("optimizer"), 'adamw, adam, sgd (Nesterov momentum), a plugin\'s, or a "module:attr" such as '
        'torch.optim:RAdam', default="adamw", flag=FLAG)
    lr: float = option(Number(positive=True), "base learning rate", per_task=_tasks(3e-3, 1e-3, 1e-3), flag=FLAG)
    weight_decay: float | None = option(Number(0.0), "weight decay (null: none)",
                                        per_task=_tasks(1e-5, 1e-4, 1e-4))
    momentum: float = option(Number(0.0, 1.0, high_open=True), "SGD momentum", default=0.99)
    schedule: str | dict[str, Any] = option(
        Component("schedule"), 'learning-rate schedule: poly (exponent 0.9), cosine, constant, a plugin\'s, or a '
        '"module:attr" scheduler class', default="cosine", flag=FLAG)
    warmup_epochs: int = option(Count(0), "epochs of linear learning-rate warm-up", default=0,
                                per_task=_tasks(0, 1, 0))
    grad_clip: float | None = option(Number(0.0), "gradient-norm clipping (null or 0: none)", default=12.0)
    loss: str | dict[str, Any] = option(
        Component("loss"), "dice_ce, dice, focal, tversky (segmentation), ce, bce, focal (classification), l1, mse "
        '(regression), a plugin\'s, or a "module:attr" class', per_task=_tasks("dice_ce", "ce", "l1"))
    early_stopping: int | None = option(
        Count(0), "stop after EPOCHS validations without improvement (0 or null: never)", default=0,
        flag=Flag(metavar="EPOCHS"))
    val_every: int = option(Count(1), "validate every N epochs (and after the last)", default=1)
    # ------------------------------------------------------------------ sampling and augmentation
    fg_fraction: float = option(Number(0.0, 1.0), "share of training patches forced to hold foreground",
                                default=0.33)
    augment: bool = option(Switch(), "random flips (and intensity changes for segmentation) while training "
                           "(the default transforms)", default=True)
    transforms: dict[str, list[Any]] | None = option(
        Transforms(), 'the pipelines {"train": [...], "eval": [...]} (null or a stage left out: the default, '
        'preprocess then for training patch, flip, intensity)', default=None, saved_at_default=False)
    # ------------------------------------------------------------------ preprocessing
    target_spacing: list[float] | None = option(
        Axes(float), "voxel spacing (mm) 3D images are resampled to (null: as stored)", default=None)
    normalization: str | None = option(
        Choice("zscore", "ct", "none", "percentile"),
        "intensity normalization: zscore, ct (clip to ct_window), percentile (clip, then zscore) or none",
        default="zscore")
    ct_window: list[float] | None = option(
        Interval(), "Hounsfield window of ct normalization (null: [-1000, 1000])", default=None,
        expected="[low, high] in Hounsfield units with low < high, e.g. [-1000, 1000]")
    nonzero_mask: bool = option(Switch(), "z-score statistics over non-zero voxels only", default=False)
    channels: int | None = option(
        Count(1), "channels of classification / regression inputs: 1 grey, 3 RGB (null: as stored)", default=None)
    resize: list[int] | None = option(
        Axes(int), "size classification / regression images are resampled to, per axis (null: as stored)",
        default=None)
    cache: bool = option(Switch(), "keep preprocessed cases in the on-disk cache", default=True)
    # ------------------------------------------------------------------ evaluation
    sw_overlap: float = option(Number(0.0, 1.0, high_open=True), "sliding-window overlap", default=0.5)
    sw_batch_size: int = option(Count(1), "sliding-window patches per forward pass", default=2)
    eval_split: str | None = option(
        Choice("val", "test"), "split the record scores (null: test when it has labels, else val)", default=None,
        expected='"val" or "test"')
    nsd_tolerance: float = option(Number(0.0), "normalized surface Dice tolerance (mm)", default=1.0)
    # ------------------------------------------------------------------ feeding, outputs
    num_workers: str | int | None = option(
        AutoOr(Count(0)), "batch threads; auto: 0 on the CPU, up to 8 on CUDA", default="auto",
        expected='"auto" or a whole number of batch threads >= 0')
    onnx: bool = option(Switch(), "export the best model to ONNX, checked with onnxruntime", default=True)
    tensorboard: bool = option(Switch(), "write TensorBoard summaries", default=True)
    histogram_every: int = option(Count(0), "TensorBoard histograms of the weights and their gradients every N "
                                  "epochs (0: none)", default=0)
    keep_checkpoints: str = option(
        Choice("last", "best", "none"), "checkpoints kept once the record is written: last (last.pt and best.pt), "
        "best (best.pt alone: a completed run is never resumed) or none (the run cannot predict then)",
        default="best", card=False)
    # ------------------------------------------------------------------ model parallelism
    model_parallel: int | None = option(Count(1), "split the model into N pipelined stages", default=None,
                                        flag=Flag(metavar="N"))
    split_size: int | None = option(Count(1), "micro-batch size for --model-parallel", default=None,
                                    flag=Flag(metavar="S"))

    # Keys the source dict did not hold (they took their defaults): left out of to_dict, so an old run's
    # config.json is saved and hashed as it was.
    filled_in: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: MappingABC[str, Any], *, task: str | None = None, dims: int | None = None,
                  where: str | None = None) -> RunConfig:
        """A validated config from a flat dict (a saved ``config.json``, a record's ``config``).

        Missing keys take their defaults (for ``task`` / ``dims`` when given); unknown keys and bad values are
        one-line errors prefixed with ``where`` (the file); ``dims`` also checks the per-axis keys' lengths.
        """
        check_keys(data, where or "configuration")
        values: dict[str, Any] = {}
        filled = []
        for spec in OPTIONS:
            if spec.name in data:
                values[spec.name] = copy.deepcopy(data[spec.name])
            elif spec.has_default(task, dims):
                values[spec.name] = spec.default_for(task, dims)
                filled.append(spec.name)
            else:
                raise MedhubError(f'{where or "configuration"}: key "{spec.name}" is missing and has no default '
                                  f"without the dataset's task; add it (e.g. {spec.name}: "
                                  f"{json.dumps(spec.default_for('segmentation', 3))})")
        validate_values(values, dims, where)
        config = cls(**values)
        object.__setattr__(config, "filled_in", frozenset(filled))
        return config

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON dict saved as ``config.json`` and hashed (a copy: changing it changes nothing here).
        Keys the source lacked and options at their default that are not saved there
        (``saved_at_default=False``) are left out."""
        return {spec.name: copy.deepcopy(getattr(self, spec.name)) for spec in OPTIONS
                if spec.name not in self.filled_in
                and (spec.saved_at_default or getattr(self, spec.name) != spec.default)}

    def replace(self, **changes: Any) -> RunConfig:
        """A validated copy with ``changes`` (option name -> value)."""
        check_keys(changes, "configuration")
        values = {spec.name: getattr(self, spec.name) for spec in OPTIONS} | changes
        validate_values(values, None, None)
        config = dataclasses.replace(self, **changes)
        object.__setattr__(config, "filled_in", self.filled_in - changes.keys())
        return config


def _complete(cls: type) -> tuple[Option, ...]:
    """The options of ``cls``'s fields in declaration order, named, ``nullable`` when the annotation admits None."""
    hints = typing.get_type_hints(cls)
    out = []
    for item in dataclasses.fields(cls):
        if _SPEC in item.metadata:
            nullable = type(None) in typing.get_args(hints[item.name])
            out.append(dataclasses.replace(item.metadata[_SPEC], name=item.name, nullable=nullable))
    return tuple(out)


OPTIONS: tuple[Option, ...] = _complete(RunConfig)
OPTION: dict[str, Option] = {spec.name: spec for spec in OPTIONS}


def check_keys(keys: MappingABC[str, Any] | Sequence[str], where: str) -> None:
    """Reject unknown keys, naming the closest valid one."""
    for key in keys:
        if key not in OPTION:
            near = closest(key, OPTION, n=1)
            hint = f' (did you mean "{near[0]}"?)' if near else ""
            raise MedhubError(f'{where}: unknown configuration key "{key}"{hint}; valid keys: '
                              f'{", ".join(sorted(OPTION))}')


def validate_values(values: MappingABC[str, Any], dims: int | None = None, where: str | None = None) -> None:
    """Check every value's type, range and choices before anything runs; errors name the flag or key and what
    it accepts (prefixed with ``where`` when given). ``dims`` (the dataset's spatial dimensions) checks the
    per-axis keys' lengths."""
    for spec in OPTIONS:
        if spec.name in values:
            problem = spec.problem(values[spec.name], dims)
            if problem is not None:
                raise MedhubError(f"{where}: {problem}" if where else problem)
    fold, folds = values.get("fold"), values.get("folds")
    if fold is not None and folds is not None and fold >= folds:
        message = f"--fold {fold}: folds are numbered 0 to {folds - 1} (--folds {folds})"
        raise MedhubError(f"{where}: {message}" if where else message)


# ---------------------------------------------------------------------------------------------- docs
TABLE_START = "<!-- options table: generated by python -m medhub.core.runconfig.options --update docs/runner.md -->"
TABLE_END = "<!-- end of the options table -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def json_code(value: Any) -> str:
    """A value as the docs show it: its JSON, as code (```"cpu"```, ```null```)."""
    return f"`{json.dumps(value)}`"


def default_text(spec: Option, show: Callable[[Any], str] = json_code) -> str:
    """The default, each value written by ``show``: one value, or one per group of tasks sharing it (and per
    dimensions where it depends on them)."""

    def shown(value: Any) -> str:
        if isinstance(value, ByDims):
            return ", ".join(f"{show(v)} ({d}D)" for d, v in sorted(value.values.items(), reverse=True))
        return show(value)

    if not spec.per_task:
        return shown(spec.default)
    groups: dict[str, list[str]] = {}
    for task in TASKS:
        groups.setdefault(shown(spec.per_task.get(task, spec.default)), []).append(task)
    return "; ".join(f"{', '.join(tasks)}: {text}" for text, tasks in groups.items())


def markdown_table() -> str:
    """The options table of docs/runner.md (a test checks the file holds exactly this)."""
    lines = ["| key | flag | accepts | default | what it sets |", "|---|---|---|---|---|"]
    for spec in OPTIONS:
        accepts = spec.expected() + (", or null" if spec.nullable else "")
        flag = f"`{spec.flag_name}`" if spec.flag else ""
        cells = (f"`{spec.name}`", flag, _cell(accepts), _cell(default_text(spec)), _cell(spec.help))
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def with_table(document: str, source: str = "docs/runner.md") -> str:
    """``document`` with the text between its table markers replaced by :func:`markdown_table`."""
    head, start, rest = document.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise MedhubError(f"{source}: no options table markers ({TABLE_START} ... {TABLE_END})")
    return f"{head}{TABLE_START}\n{markdown_table()}\n{TABLE_END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m medhub.core.runconfig.options --markdown`` prints the table; ``--update FILE`` rewrites it."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m medhub.core.runconfig.options", description=main.__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the options table")
    group.add_argument("--update", type=Path, metavar="FILE", help="rewrite the table between FILE's markers")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table())
        return 0
    args.update.write_text(with_table(args.update.read_text(encoding="utf-8"), str(args.update)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
