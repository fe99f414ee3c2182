"""Registry entries (cheap metadata) and the registry that holds what the plugins registered.

Entries hold plain values plus *lazy* references to heavy code: a factory or parser is either a
callable or a ``"package.module:attribute"`` string that is imported only when it is first used.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

from medhub.core.errors import MedhubError, UnknownIdError, closest
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
# The keys of a dataset's evaluation protocol (``DatasetInfo.protocol``); medhub.core.metrics.protocol reads them.
PROTOCOL_KEYS = ("id", "version", "source", "regions", "metrics", "surface", "tolerance", "empty", "scoring",
                 "slice_axis", "aggregation", "ranking", "notes")


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


def require_protocol_keys(value: object, owner: str) -> None:
    """A MedhubError unless ``value`` is a mapping whose keys are :data:`PROTOCOL_KEYS` (each value is checked by
    :func:`medhub.core.metrics.protocol.parse_protocol`, which the core layer cannot import)."""
    require_mapping(value, "protocol", owner)
    for key in value:  # type: ignore[union-attr]
        if key not in PROTOCOL_KEYS:
            near = closest(key, PROTOCOL_KEYS, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise MedhubError(f'{owner}: "protocol" has unknown key {got(key)}{hint}; known: {", ".join(PROTOCOL_KEYS)}')


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


def takes_parameter(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` (a function or a class) has a parameter called ``name`` that a keyword can set
    (``**kwargs`` alone does not count)."""
    try:
        parameter = inspect.signature(fn).parameters.get(name)
    except (TypeError, ValueError):  # a builtin or C callable without a readable signature
        return False
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)


def ref_name(ref: Callable[..., Any] | str | None) -> str | None:
    """A printable name for a lazy reference (for ``hub info``)."""
    if ref is None or isinstance(ref, str):
        return ref
    return f"{getattr(ref, '__module__', '?')}:{getattr(ref, '__qualname__', repr(ref))}"


@dataclass(frozen=True)
class Source:
    """One file of a dataset: where ``hub download`` fetches it from and how it checks the bytes.

    The file goes to ``$MEDHUB_HOME/datasets/<id>/downloads/<filename>``: it streams to ``<filename>.part``, is
    hashed while it is written, resumes after an interruption (HTTP ``Range``) and is renamed only once its
    checksum matched; then it is extracted (or copied) into the dataset's folder. ``hub download ID --file PATH``
    matches a file you fetched by hand against these entries by name and checks it the same way.

    Args:
        url (str): where to fetch the file: an ``http://`` or ``https://`` URL with a host (other schemes are
            refused at registration). ``hub download --mirror BASE`` replaces everything before the last
            ``/``: the mirror must hold the same file names.
        filename (str): the bare file name it is saved under (no folder part, not ``.`` / ``..``); unique
            among the dataset's sources.
        md5 (str | None): the file's MD5 as 32 hex digits. Default None.
        sha256 (str | None): the file's SHA-256 as 64 hex digits. Default None. At least one of ``md5`` and
            ``sha256`` is required; both are checked when both are given.
        size (int | None): the file's size in bytes, when known. Default None. A download stops once it runs
            past the declared size (plus 1%, at least 1 MiB): a server cannot make medhub write more.
        extract (bool): whether an archive (``.tar``, ``.tar.gz`` / ``.tgz``, ``.tar.bz2``, ``.tar.xz``,
            ``.zip``, single-file ``.gz``) is extracted safely into the dataset's folder (True, the default) or
            the file is copied there as it is (False, e.g. a CSV of labels).

    Example:
        >>> from medhub import Source
        >>> spleen = Source(url="https://msd-for-monai.s3-us-west-2.amazonaws.com/Task09_Spleen.tar",
        ...                 filename="Task09_Spleen.tar", md5="410d4a301da4e5b2f6f86ec3ddba524e")
        >>> spleen.validate('dataset "myorg/spleen": sources[0]')  # what register() checks; None when valid
        >>> spleen.to_json()["extract"]
        True
        >>> Source(url="file:///etc/passwd", filename="passwd", md5="0" * 32).validate("sources[0]")
        Traceback (most recent call last):
        medhub.core.errors.MedhubError: sources[0]: "url" must be an http:// or https:// URL, got 'file:///etc/passwd'
    """

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
        """The source as plain JSON values (the ``sources[]`` entry of ``hub info ID --json``)."""
        return dataclasses.asdict(self)


@dataclass
class DatasetInfo:
    """A dataset's card: identity, task, where the data comes from, how to prepare it and how it is scored.

    A dataset plugin registers one per dataset (``register(DatasetInfo(...))``); a card file (JSON / YAML, card
    v1) holds the same fields. Registration only stores metadata: nothing is read or fetched until a command
    needs the data. ``register`` runs :meth:`validate` and skips the whole plugin when it fails.

    Args:
        id (str): ``family/name`` or ``name``, lower case (``decathlon/spleen``; grammar in
            :mod:`medhub.core.ids`). What every command takes (``hub download ID``, ``hub run --dataset ID``);
            the data goes to ``$MEDHUB_HOME/datasets/<id>/``. Two plugins registering one id is an error naming
            both.
        title (str): one line for ``hub datasets``.
        task (str): ``"segmentation"``, ``"classification"`` or ``"regression"``. Picks the runner's recipe
            (loss, optimizer, learning rate, epochs), the default model (``unet3d`` / ``unet2d``,
            ``resnet18-3d`` / ``resnet18-2d``), which models may train on it, how predictions are scored and
            the default submission format (:data:`NIFTI_ARCHIVE` for segmentation, :data:`CSV` otherwise).
        dims (int): 2 or 3, the spatial dimensions of an image. A model must list it in its ``dims``; per-axis
            run keys (``patch_size``, ``target_spacing``, ``resize``) take this many values.
        layout (str): the id of a registered :class:`LayoutInfo` whose parser turns the dataset's folder into
            cases. A layout that no plugin registers drops the dataset (``hub plugins`` shows why).
        modality (dict[str, str]): channel index (as a string) -> what it holds, e.g. ``{"0": "CT"}`` or
            ``{"0": "FLAIR", "1": "T1w"}``. Default ``{}``. Shown by ``hub datasets`` / ``hub info``.
        labels (dict[str, str]): label value (digits, as a string) -> name, ``"0"`` being the background for
            segmentation, e.g. ``{"0": "background", "1": "spleen"}``; class index -> name for classification.
            Default ``{}``. Segmentation: the model gets one output channel per value up to the largest (values
            need not be contiguous), metrics score every non-zero label, and ``hub link``, ``hub verify``, the
            runner and ``hub submit`` refuse label maps holding other values. Classification: the classes a
            CSV submission may predict.
        license (str): the data's licence (``"CC-BY-SA 4.0"``). Default ``""``. Shown by ``hub info``.
        citation (str): how to cite the data. Default ``""``.
        homepage (str): the dataset's page. Default ``""``. ``hub download`` names it as the place to get data
            it cannot fetch.
        access (str): how the data is obtained, shown by ``hub datasets``; default ``"open"``. ``"open"``:
            ``hub download ID`` fetches the ``sources`` over HTTP(S). ``"generated"``: built locally by
            ``generator`` (no network). ``"kaggle"``: fetched through the Kaggle API with the user's own token
            when ``layout_options["kaggle"]`` names the competition or dataset. ``"registration"`` (a free
            account or an accepted licence) and ``"manual"`` (a data-use agreement or other steps): without
            ``sources``, ``hub download ID`` prints ``instructions``, the ``homepage``, the expected files and
            the ``hub download ID --file PATH`` / ``hub link ID DIR`` commands, and exits 1; with ``sources``
            it tries them and prints the same when the server answers 401 / 403. In every case ``--file PATH``
            takes an archive the user fetched and ``hub link`` an extracted copy.
        sources (tuple[Source, ...]): the files ``hub download`` fetches, checks and extracts, in order.
            Default ``()``.
        aliases (tuple[str, ...]): other names accepted wherever the id is (case-insensitive), e.g.
            ``("Task09_Spleen",)``. Default ``()``.
        metrics (tuple[str, ...]): ids of registered metrics (``dice``, ``hd95``, ``nsd``, ``auc``, ...) the
            runner scores validation and test with, and ``hub evaluate RUN_ID`` by default. Default ``()``:
            ``dice`` for segmentation, ``accuracy`` otherwise.
        ranking_metric (str): the aggregate metric that picks a run's best checkpoint and ranks the dataset's
            runs in ``hub leaderboard``. Default ``""``: the first of ``metrics``.
        ranking_direction (str): ``"max"`` (higher is better, the default) or ``"min"`` (lower is better, e.g.
            ``hd95``) for ``ranking_metric``.
        preprocessing (dict[str, Any]): the dataset's defaults for run-configuration keys (docs/runner.md):
            they override the task's recipe, a config file and flags override them; e.g. ``"normalization"``
            (``"zscore"``, ``"ct"``, ``"percentile"``, ``"none"``), ``"ct_window"`` (``[low, high]`` in HU),
            ``"target_spacing"`` (mm per axis), ``"patch_size"`` (voxels per axis), ``"nonzero_mask"``,
            ``"channels"``, ``"resize"``, or a training budget (``"epochs"``). ``"regions"`` (``{"ET": [4],
            "TC": [1, 4]}``) scores unions of labels instead of single labels. Keys that are not run keys are
            ignored. Default ``{}``.
        protocol (dict[str, Any]): the challenge's evaluation protocol, as data: ``id`` and ``version``, its
            ``source`` (paper, page or evaluation repository), ``regions`` (name -> label values), ``metrics``
            (ids, for every region or per region), ``surface`` (``"voxels"`` / ``"elements"``), ``tolerance``
            (NSD, mm; one number or per region), ``empty`` (per metric, the values when both masks / only the
            reference / only the prediction are empty), ``scoring`` (``"whole"`` or ``"slices"``),
            ``aggregation`` (``{"nan": "skip" | "value" | "error"}``), ``ranking`` (an aggregate such as
            ``"dice/ET"``, or ``{"name": ..., "mean": [...]}``) and ``notes``. Default ``{}``: medhub's default
            protocol (each label or ``regions`` alone, ``metrics``, raw empty-mask values, NaN skipped).
            ``register`` checks the keys; every value is checked when the protocol is read
            (:func:`medhub.core.metrics.protocol.protocol_of`, docs/metrics.md "Evaluation protocols").
        instructions (str): the steps to get data medhub cannot fetch itself, printed by ``hub download``
            (mention ``hub download ID --file PATH`` and medhub also lists the expected files and checksums).
            Default ``""``.
        version (str): the card's version, recorded with the data on disk and in every result. Default ``"1"``.
        generator (Callable | str | None): ``generator(root: Path, seed: int) -> None`` (or its
            ``"package.module:function"``, imported when used) writes the whole dataset into ``root``;
            ``hub download`` calls it with seed 0 instead of fetching ``sources``. Default None.
        layout_options (dict[str, Any]): options passed to the layout parser. medhub itself reads
            ``"folder"`` (the folder inside a NIfTI submission archive, e.g. ``"Task09_Spleen"``),
            ``"kaggle"`` (``{"competition": "<slug>"}`` or ``{"dataset": "<owner>/<name>"}``) and ``"regions"``
            (as in ``preprocessing``). Default ``{}``.
        description (str): a longer text for ``hub info``. Default ``""``.
        plugin (str): set by ``register`` to the registering plugin's name (``cards/<file>`` for a card in
            ``$MEDHUB_HOME/cards``); a value given here is replaced. Default ``""``.

    Example:
        >>> from medhub import DatasetInfo, Source
        >>> info = DatasetInfo(
        ...     id="myorg/tiny-spleen", title="Tiny spleen CT", task="segmentation", dims=3, layout="decathlon",
        ...     modality={"0": "CT"}, labels={"0": "background", "1": "spleen"}, aliases=("TinySpleen",),
        ...     sources=(Source("https://example.org/Task09_Spleen.tar", "Task09_Spleen.tar",
        ...                     md5="410d4a301da4e5b2f6f86ec3ddba524e"),),
        ...     metrics=("dice", "hd95"), ranking_metric="dice", layout_options={"folder": "Task09_Spleen"},
        ...     preprocessing={"target_spacing": [1.5, 1.5, 2.0], "patch_size": [96, 96, 64]})
        >>> info.validate()  # what register() checks; None when valid
        >>> card = info.to_json()
        >>> card["sources"][0]["filename"], card["access"], card["ranking_direction"]
        ('Task09_Spleen.tar', 'open', 'max')
        >>> DatasetInfo(id="myorg/tiny", title="Tiny", task="segmentation", dims=4, layout="decathlon").validate()
        Traceback (most recent call last):
        medhub.core.errors.MedhubError: dataset "myorg/tiny": "dims" must be 2 or 3 (an integer), got int 4
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
    protocol: dict[str, Any] = field(default_factory=dict)
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
        require_protocol_keys(self.protocol, owner)
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
    """A model entry: how to build the network, what it can train on, its default hyper-parameters.

    A model plugin registers one per model (``register(ModelInfo(...))``, or :func:`module_model` for an
    existing ``torch.nn.Module`` class). The factory is imported only when a run builds the model, so
    registering costs no torch import.

    Args:
        id (str): ``name`` or ``family/name``, lower case (``unet3d``); what ``hub run --model ID`` takes.
        factory (Callable | str): ``factory(in_channels, out_channels, **hparams) -> torch.nn.Module``, or its
            ``"package.module:attribute"`` (imported when used). ``in_channels`` is the dataset's number of image
            channels, ``out_channels`` its number of classes (1 for regression). A factory with a parameter
            named ``dims`` is also given the dataset's spatial dimensions (2 or 3) as ``dims=``: that is how one
            entry declaring ``dims=(2, 3)`` builds the right network. The module returns logits: softmax /
            sigmoid belong to the loss and the post-processing. For a batch ``x`` of shape ``(N, C, *spatial)``
            a segmentation model returns ``(N, out_channels, *spatial)``, a classification or regression model
            ``(N, out_channels)``; ``hub run`` checks this on the first batch and stops with an error naming
            the model and its plugin otherwise.
        tasks (tuple[str, ...]): the tasks it supports, a non-empty subset of ``("segmentation",
            "classification", "regression")``. ``hub run`` refuses a dataset of another task, listing the models
            that fit.
        dims (tuple[int, ...]): the spatial dimensions it supports, a non-empty subset of ``(2, 3)``. An entry
            declaring both needs a factory that takes ``dims`` (above) or a network that works on either.
        citation (str): how to cite the architecture. Default ``""``.
        title (str): one line for ``hub models``. Default ``""``.
        hparams (dict[str, Any]): the hyper-parameters the factory takes beyond the channels, with their
            defaults (plain JSON values). A run overrides them with the ``model_hparams`` key (``--set
            model_hparams='{"depth": 3}'``); a name not listed here is refused, with the closest names.
            Default ``{}`` (then any keyword is passed through).
        aliases (tuple[str, ...]): other names for the id (case-insensitive). Default ``()``.
        description (str): a longer text for ``hub info``. Default ``""``.
        plugin (str): set by ``register`` to the registering plugin's name; a value given here is replaced.
            Default ``""``.

    Example:
        >>> from medhub import ModelInfo
        >>> conv = ModelInfo(id="myorg/conv3d", factory="torch.nn:Conv3d", tasks=("segmentation",), dims=(3,),
        ...                  title="one 3x3x3 convolution", hparams={"kernel_size": 3, "padding": 1})
        >>> conv.validate()  # what register() checks; None when valid
        >>> conv.build(1, 2)
        Conv3d(1, 2, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))
        >>> conv.build(1, 2, kernel=5)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        medhub.core.errors.MedhubError: model "myorg/conv3d": unknown hyper-parameter "kernel" (did you mean ...
        >>> def two_or_three(in_channels, out_channels, dims=3):  # a factory taking dims
        ...     import torch
        ...     return (torch.nn.Conv3d if dims == 3 else torch.nn.Conv2d)(in_channels, out_channels, 1)
        >>> ModelInfo(id="myorg/conv", factory=two_or_three, tasks=("segmentation",), dims=(2, 3)).build(1, 2, dims=2)
        Conv2d(1, 2, kernel_size=(1, 1), stride=(1, 1))
    """

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

    def build(self, in_channels: int, out_channels: int, *, dims: int | None = None, **hparams: Any) -> Any:
        """Instantiate the model: the factory called with the channels and the registered ``hparams``, overridden
        by ``hparams`` (and ``dims=dims`` when the factory has a ``dims`` parameter).

        Args:
            in_channels (int): image channels of the dataset.
            out_channels (int): output channels (classes; 1 for regression).
            dims (int | None): the dataset's spatial dimensions (2 or 3), passed on to a factory with a ``dims``
                parameter (a ``dims`` hyper-parameter, when the entry lists one, must then agree); None passes
                nothing.
            **hparams: hyper-parameters to override; each must be a key of the registered ``hparams`` (when
                the entry has any).

        Returns:
            Whatever the factory returns, a ``torch.nn.Module`` returning logits.

        Raises:
            MedhubError: a hyper-parameter the entry does not list, naming the closest valid ones; a ``dims``
                hyper-parameter that contradicts the dataset's ``dims``.
        """
        unknown = sorted(set(hparams) - set(self.hparams))
        if unknown and self.hparams:
            from medhub.core.errors import closest

            hints = {k: closest(k, self.hparams) for k in unknown}
            msg = "; ".join(f'"{k}"' + (f" (did you mean {', '.join(v)}?)" if v else "") for k, v in hints.items())
            raise MedhubError(f'model "{self.id}": unknown hyper-parameter {msg}; valid: {", ".join(sorted(self.hparams))}')
        params = {**self.hparams, **hparams}
        factory = resolve_ref(self.factory)
        if dims is not None and takes_parameter(factory, "dims"):
            if params.get("dims", dims) != dims:
                raise MedhubError(f"{self.named()}: hyper-parameter dims={params['dims']!r} contradicts "
                                  f"the dataset's {dims}D images; leave dims out of model_hparams "
                                  "(medhub passes the dataset's dims)")
            params["dims"] = dims
        return factory(in_channels, out_channels, **params)

    def named(self) -> str:
        """``model "ID" (plugin "NAME")`` for error messages (without the plugin part when it is unknown)."""
        return f'model "{self.id}"' + (f' (plugin "{self.plugin}")' if self.plugin else "")

    def to_json(self) -> dict[str, Any]:
        """The entry as plain JSON values, the factory as its ``"module:attribute"`` name (``hub info ID``)."""
        out = dataclasses.asdict(self)
        out["factory"] = ref_name(self.factory)
        out["tasks"] = list(self.tasks)
        out["dims"] = list(self.dims)
        out["aliases"] = list(self.aliases)
        return out


@dataclass
class LayoutInfo:
    """A layout parser: how a dataset's folder on disk becomes case dicts, and what a complete folder holds.

    Several datasets may share one layout (every Decathlon task uses ``decathlon``); a dataset names it in its
    ``layout`` field. The parser runs when a command needs the cases (``hub cases``, ``hub run``, ``hub
    predict``), never at registration.

    Args:
        id (str): ``name`` or ``family/name``, lower case; what ``DatasetInfo.layout`` names.
        parse (Callable | str): ``parse(root: Path, dataset: DatasetInfo) -> dict[str, list[dict]]``, or its
            ``"package.module:attribute"``. Returns the dataset's official parts: ``"train"`` (labelled cases,
            required; the folds are drawn from it) and, where the distribution has them, ``"test"`` and an
            official ``"val"``. A case is a dict of plain values: ``"id"`` (unique), ``"image"`` (a Path or a
            list of Paths, one per channel), ``"label"`` (a Path to a label map, an int class, a float, or a
            list of 0/1 for multi-label) and any other keys (``"group"`` keeps a group's cases in one fold).
            Raise :class:`MedhubError` naming the file for a folder it cannot read.
        verify (Callable | str | None): ``verify(root: Path, dataset: DatasetInfo) -> list[str]``, one line
            per problem (a missing or extra file), empty when the folder is complete. ``hub download`` (before
            it marks the data ready), ``hub link`` and ``hub verify`` run it. Default None: the folder only has
            to parse.
        description (str): what the folder looks like (one line, in :meth:`to_json`). Default ``""``.
        plugin (str): set by ``register`` to the registering plugin's name. Default ``""``.
        submission (SubmissionFormat | str | None): the challenge's package format that ``hub submit`` builds
            and checks for datasets of this layout (a :class:`~medhub.core.submission.formats.SubmissionFormat`
            or its ``"package.module:attribute"``). Default None: :data:`NIFTI_ARCHIVE` for segmentation,
            :data:`CSV` otherwise.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from medhub import LayoutInfo
        >>> def parse_pairs(root, dataset):
        ...     images = sorted((root / "images").glob("*.nii.gz"))
        ...     return {"train": [{"id": p.name[:-7], "image": p, "label": root / "labels" / p.name} for p in images]}
        >>> def verify_pairs(root, dataset):
        ...     return [f"{p}: missing" for p in sorted((root / "images").glob("*.nii.gz"))
        ...             if not (root / "labels" / p.name).is_file()]
        >>> pairs = LayoutInfo(id="myorg/pairs", parse=parse_pairs, verify=verify_pairs,
        ...                    description="images/<id>.nii.gz with labels/<id>.nii.gz")
        >>> pairs.validate()  # what register() checks; None when valid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     root = Path(tmp)
        ...     for folder, name in (("images", "case1"), ("images", "case2"), ("labels", "case1")):
        ...         (root / folder).mkdir(exist_ok=True)
        ...         (root / folder / f"{name}.nii.gz").touch()
        ...     [case["id"] for case in pairs.parse(root, None)["train"]]
        ...     [problem.replace(tmp, "ROOT") for problem in pairs.verify(root, None)]
        ['case1', 'case2']
        ['ROOT/images/case2.nii.gz: missing']
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
        """The entry as plain JSON values: references as ``"module:attribute"`` names, the submission format
        as its reference or its type's name."""
        return {"id": self.id, "parse": ref_name(self.parse), "verify": ref_name(self.verify),
                "description": self.description, "plugin": self.plugin,
                "submission": ref_name(self.submission) if isinstance(self.submission, str) else
                (type(self.submission).__name__ if self.submission is not None else None)}


@dataclass
class MetricInfo:
    """A metric: its id, which predictions it scores and which way is better.

    Args:
        id (str): ``name`` or ``family/name``, lower case (``dice``); what a dataset's ``metrics``,
            ``hub evaluate --metrics`` and ``hub leaderboard --metric`` name. A per-label or per-region value is
            reported as ``<id>/<label>`` (``dice/1``, ``dice/ET``) and ranks in the metric's direction.
        fn (Callable | str): the function that computes it, or its ``"package.module:function"`` (imported when
            first used). Every score medhub computes calls it: the runner, ``hub evaluate`` (``--metrics ID``)
            and a dataset's evaluation protocol, for built-in and third-party metrics alike. A ``per_case``
            metric is ``fn(pred, ref, spacing, **options) -> float``: ``pred`` and ``ref`` are boolean NumPy
            masks of one shape in the reference's voxel order, ``spacing`` the voxel size in mm per axis in that
            order; ``options`` are ``surface`` (``"voxels"`` / ``"elements"``), ``tolerance`` (mm), ``cache``
            (a dict shared by the metrics of one mask pair, e.g. for one distance computation) and the
            protocol's options for the metric; a function ignores the options it does not use (take
            ``**options``). A ``dataset`` metric is ``fn(y_true, y_score, **options) -> float`` on all cases at
            once (``y_true``: class indices, 0/1 rows for multi-label, or floats; ``y_score``: probabilities
            N x K, or N predicted values for regression); it raises :class:`MedhubError` for predictions it
            does not apply to.
        task (str): ``"segmentation"``, ``"classification"`` or ``"regression"``: which predictions it scores.
        direction (str): ``"max"`` (higher is better) or ``"min"`` (lower is better): how ``hub leaderboard
            --metric`` ranks by it and how ``hub plugins`` shows it.
        kind (str): ``"per_case"`` (segmentation: one value per case and label, then averaged) or
            ``"dataset"`` (classification / regression: one value from all cases). Default ``"per_case"``.
        description (str): what it measures, in one line (in :meth:`to_json`). Default ``""``.
        aliases (tuple[str, ...]): other names for the id (``("dsc",)`` for ``dice``). Default ``()``.
        plugin (str): set by ``register`` to the registering plugin's name. Default ``""``.

    Example:
        >>> from medhub import MetricInfo
        >>> import numpy as np
        >>> def volume_ratio(pred, ref, spacing, **options):
        ...     return float(pred.sum() / ref.sum())
        >>> ratio = MetricInfo(id="myorg/volume_ratio", fn=volume_ratio, task="segmentation", direction="max",
        ...                    description="predicted over reference volume")
        >>> ratio.validate()  # what register() checks; None when valid
        >>> ref = np.zeros((4, 4), bool); ref[:2] = True
        >>> ratio.compute(ref[::-1] | ref, ref, (1.0, 1.0))
        2.0
        >>> MetricInfo(id="myorg/err", fn="mypkg.metrics:err", task="regression", direction="lower").validate()
        Traceback (most recent call last):
        medhub.core.errors.MedhubError: metric "myorg/err": "direction" must be one of max, min, got 'lower'
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

    def compute(self, *args: Any, **options: Any) -> Any:
        """Call ``fn`` (imported on first use) with ``args`` and ``options``; what it returns, unchanged."""
        return resolve_ref(self.fn)(*args, **options)

    def to_json(self) -> dict[str, Any]:
        """The entry as plain JSON values, ``fn`` as its ``"module:function"`` name."""
        out = dataclasses.asdict(self)
        out["fn"] = ref_name(self.fn)
        out["aliases"] = list(self.aliases)
        return out


# The run values a component's factory may take by name (its ``context``), per kind of component.
CONTEXT: dict[str, tuple[str, ...]] = {
    "loss": ("task", "out_channels", "multilabel"),
    "optimizer": ("lr", "weight_decay", "momentum"),
    "schedule": ("total_steps", "warmup_steps", "steps_per_epoch"),
    "transform": ("dims", "task", "keys", "config", "patch_size"),
}


@dataclass
class ComponentInfo:
    """What the component entries share (:class:`LossInfo`, :class:`OptimizerInfo`, :class:`ScheduleInfo`,
    :class:`TransformInfo`): an id a run config names, a lazily imported factory, default parameters and the run
    values the factory takes by name. ``kind`` is the component's kind (``"loss"``, ...)."""

    kind: ClassVar[str] = "component"

    id: str
    factory: Callable[..., Any] | str
    params: dict[str, Any] = field(default_factory=dict)
    context: tuple[str, ...] = ()
    description: str = ""
    aliases: tuple[str, ...] = ()
    plugin: str = ""

    def validate(self) -> None:
        """Raise MedhubError naming the first invalid field (id grammar, aliases, factory, params, context, texts)."""
        check_registry_id(self.id, self.kind)
        owner = f'{self.kind} "{self.id}"'
        for alias in require_texts(self.aliases, "aliases", owner):
            check_alias(alias, self.kind, self.id)
        require_ref(self.factory, "factory", owner)
        require_mapping(self.params, "params", owner)
        for name in require_texts(self.context, "context", owner):
            if name not in CONTEXT[self.kind]:
                raise MedhubError(f'{owner}: "context" names {got(name)}, which a run does not offer a {self.kind}; '
                                  f'offered: {", ".join(CONTEXT[self.kind])}')
        for name in ("description", "plugin"):
            require_text(getattr(self, name), name, owner)

    def build(self, *args: Any, **values: Any) -> Any:
        """Call the factory (imported on first use) with ``args`` and ``params`` updated by ``values``: what a run
        does, with the context values as ``values``."""
        return resolve_ref(self.factory)(*args, **{**self.params, **values})

    def to_json(self) -> dict[str, Any]:
        """The entry as plain JSON values, the factory as its ``"module:attribute"`` name (``hub plugins --json``)."""
        out = dataclasses.asdict(self)
        out["factory"] = ref_name(self.factory)
        out["kind"] = self.kind
        for name in ("context", "aliases", "tasks"):
            if name in out:
                out[name] = list(out[name])
        return out


@dataclass
class LossInfo(ComponentInfo):
    """A training loss a run config names as ``loss`` (``loss: myorg/focal`` or ``{"name": "myorg/focal",
    "params": {"gamma": 1.5}}``).

    Args:
        id (str): ``name`` or ``family/name``, lower case; what ``loss`` names.
        factory (Callable | str): ``factory(**context, **params)`` returning the loss, a callable ``loss(output,
            target) -> scalar tensor``; or its ``"package.module:attribute"`` (imported when a run starts, so
            registering costs no torch import). ``output`` is the model's output in float32 (logits: N x K x
            spatial for segmentation, N x K for classification, N x 1 for regression); ``target`` the labels
            (N x spatial integers), the classes (N integers; N x K 0/1 floats for multi-label) or the values (N x 1
            floats).
        params (dict[str, Any]): default keyword arguments of the factory, under the run config's ``params``.
            Default ``{}``. A run refuses a parameter the factory's signature does not take before any work.
        context (tuple[str, ...]): run values the factory takes by name: ``task``, ``out_channels``,
            ``multilabel``. Default ``()``.
        description (str): one line for ``hub plugins``. Default ``""``.
        aliases (tuple[str, ...]): other names for the id (case-insensitive). Default ``()``.
        plugin (str): set by ``register`` to the registering plugin's name. Default ``""``.
        tasks (tuple[str, ...]): the tasks it trains: a run of another task refuses it, listing those that fit.
            Default: all three.

    Example:
        >>> from medhub import LossInfo
        >>> smooth = LossInfo(id="myorg/smooth-l1", factory="torch.nn:SmoothL1Loss", tasks=("regression",),
        ...                   params={"beta": 0.5}, description="Huber-like L1")
        >>> smooth.validate()  # what register() checks; None when valid
        >>> smooth.build()
        SmoothL1Loss()
        >>> LossInfo(id="myorg/focal", factory="my_plugin:Focal", tasks=("images",)).validate()
        Traceback (most recent call last):
        medhub.core.errors.MedhubError: loss "myorg/focal": tasks tuple ('images',) must be a non-empty subset of ('segmentation', 'classification', 'regression')
    """

    kind: ClassVar[str] = "loss"
    tasks: tuple[str, ...] = TASKS

    def validate(self) -> None:
        """:meth:`ComponentInfo.validate`, and ``tasks`` a non-empty subset of the tasks."""
        super().validate()
        tasks = self.tasks if isinstance(self.tasks, (list, tuple)) else ()
        if not tasks or any(t not in TASKS for t in tasks):
            raise MedhubError(f'loss "{self.id}": tasks {got(self.tasks)} must be a non-empty subset of {TASKS}')


@dataclass
class OptimizerInfo(ComponentInfo):
    """An optimizer a run config names as ``optimizer`` (``hub run --optimizer ID``, or ``{"name": ID, "params":
    {...}}`` in a config file).

    Args:
        id (str): ``name`` or ``family/name``, lower case; what ``optimizer`` names.
        factory (Callable | str): ``factory(parameters, **context, **params) -> torch.optim.Optimizer``
            (``parameters``: the model's), or its ``"package.module:attribute"`` (a ``torch.optim`` class
            fits as it is).
        params (dict[str, Any]): default keyword arguments (``{"betas": [0.9, 0.99]}``) under the run config's
            ``params``. Default ``{}``.
        context (tuple[str, ...]): run options the factory takes by name: ``lr``, ``weight_decay`` (0 when
            null), ``momentum``. Default ``("lr", "weight_decay")``.
        description (str): one line for ``hub plugins``. Default ``""``.
        aliases (tuple[str, ...]): other names for the id. Default ``()``.
        plugin (str): set by ``register`` to the registering plugin's name. Default ``""``.

    Example:
        >>> import torch
        >>> from medhub import OptimizerInfo
        >>> rms = OptimizerInfo(id="myorg/rmsprop", factory="torch.optim:RMSprop", params={"alpha": 0.9})
        >>> rms.validate()  # what register() checks; None when valid
        >>> optimizer = rms.build([torch.nn.Parameter(torch.zeros(2))], lr=0.01, weight_decay=0.0)
        >>> type(optimizer).__name__, optimizer.defaults["alpha"], optimizer.defaults["lr"]
        ('RMSprop', 0.9, 0.01)
    """

    kind: ClassVar[str] = "optimizer"
    context: tuple[str, ...] = ("lr", "weight_decay")


@dataclass
class ScheduleInfo(ComponentInfo):
    """A learning-rate schedule a run config names as ``schedule``; the run steps it once per optimizer step.

    Args:
        id (str): ``name`` or ``family/name``, lower case; what ``schedule`` names.
        factory (Callable | str): ``factory(optimizer, **context, **params)`` returning a
            ``torch.optim.lr_scheduler`` scheduler (``step()``, ``state_dict()``, ``load_state_dict()``), or its
            ``"package.module:attribute"``.
        params (dict[str, Any]): default keyword arguments under the run config's ``params``. Default ``{}``.
        context (tuple[str, ...]): run values the factory takes by name: ``total_steps`` (of the whole run),
            ``warmup_steps`` (``warmup_epochs`` in steps; a schedule without it refuses ``warmup_epochs`` > 0),
            ``steps_per_epoch``. Default ``("total_steps", "warmup_steps")``.
        description (str): one line for ``hub plugins``. Default ``""``.
        aliases (tuple[str, ...]): other names for the id. Default ``()``.
        plugin (str): set by ``register`` to the registering plugin's name. Default ``""``.

    Example:
        >>> import torch
        >>> from medhub import ScheduleInfo
        >>> step = ScheduleInfo(id="myorg/step", factory="torch.optim.lr_scheduler:StepLR", context=(),
        ...                     params={"step_size": 100, "gamma": 0.5})
        >>> step.validate()  # what register() checks; None when valid
        >>> optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        >>> type(step.build(optimizer)).__name__
        'StepLR'
    """

    kind: ClassVar[str] = "schedule"
    context: tuple[str, ...] = ("total_steps", "warmup_steps")


@dataclass
class TransformInfo(ComponentInfo):
    """A case-dict transform a run config lists in ``transforms`` (``{"train": [...], "eval": [...]}``).

    Args:
        id (str): ``name`` or ``family/name``, lower case; what a ``transforms`` list names.
        factory (Callable | str): ``factory(**context, **params)`` returning the transform, a callable ``case
            dict -> new case dict`` (``(case, rng)`` for a random one: ``rng`` is a ``numpy.random.Generator``
            the run seeds), or its ``"package.module:attribute"``. A factory returning a
            :class:`~medhub.core.transforms.Compose` adds its steps; one returning None adds nothing.
        params (dict[str, Any]): default keyword arguments under the run config's ``params``. Default ``{}``.
        context (tuple[str, ...]): run values the factory takes by name: ``dims`` (the dataset's), ``task``,
            ``keys`` (``("image", "label")``, or ``("image",)`` for cases without a label map), ``config`` (the
            run's :class:`~medhub.core.runconfig.options.RunConfig`), ``patch_size`` (the training patch: the
            first training image's shape when ``patch_size`` is null). Default ``()``.
        description (str): one line for ``hub plugins``. Default ``""``.
        aliases (tuple[str, ...]): other names for the id. Default ``()``.
        plugin (str): set by ``register`` to the registering plugin's name. Default ``""``.
        random (bool): whether the transform draws random numbers: the training pipeline's steps from the first
            random one on run per sample (the ones before are cached); ``transforms.eval`` refuses it. Default False.

    Example:
        >>> from medhub import TransformInfo
        >>> noise = TransformInfo(id="myorg/noise", factory="medhub.core.transforms.augment:RandNoise", random=True,
        ...                       params={"std": 0.05}, description="Gaussian noise on images")
        >>> noise.validate()  # what register() checks; None when valid
        >>> noise.build()
        RandNoise(p=0.15, std=0.05, keys=('image', 'label'))
    """

    kind: ClassVar[str] = "transform"
    random: bool = False

    def validate(self) -> None:
        """:meth:`ComponentInfo.validate`, and ``random`` a boolean."""
        super().validate()
        if not isinstance(self.random, bool):
            raise MedhubError(f'transform "{self.id}": "random" must be true or false, got {got(self.random)}')


T = TypeVar("T")
COMPONENT_LISTING = "hub plugins --all"


class Table(Generic[T]):
    """Entries of one kind keyed by id, with aliases, wildcard listing and helpful lookup errors."""

    def __init__(self, kind: str, listing: str | None = None):
        self.kind = kind
        self.listing = listing  # the command that lists them, for unknown ids (default: hub <kind>s)
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
            raise UnknownIdError(self.kind, name, known, listing=self.listing) from None

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
    losses: Table[LossInfo] = field(default_factory=lambda: Table("loss", COMPONENT_LISTING))
    optimizers: Table[OptimizerInfo] = field(default_factory=lambda: Table("optimizer", COMPONENT_LISTING))
    schedules: Table[ScheduleInfo] = field(default_factory=lambda: Table("schedule", COMPONENT_LISTING))
    transforms: Table[TransformInfo] = field(default_factory=lambda: Table("transform", COMPONENT_LISTING))

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
