"""The Python API: a registered dataset as a torch ``Dataset``, a registered model, one pair scored under a
protocol (docs/python.md). ``medhub.dataset``, ``medhub.model``, ``medhub.evaluate`` and ``medhub.collate`` are
these functions; each imports the engine (torch, NumPy) only when called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

def dataset(dataset_id: str, split: str = "train", fold: int = 0, folds: int = 5, seed: int = 0,
            transform: str | Callable[[dict[str, Any]], Any] | None = "default", cache: bool = True,
            options: Mapping[str, Any] | None = None) -> Any:
    """A registered dataset's split as a ``torch.utils.data.Dataset`` of case dicts.

    The split is the one ``hub run`` trains on: fold ``fold`` of a ``folds``-fold split of the training cases
    (seeded by ``seed``) is ``val``, the rest ``train``; an official validation part is ``val`` as it is. A
    generated dataset (``synthetic/*``) is generated on first use; any other must be on disk (``hub download
    ID`` or ``hub link ID FOLDER``).

    Args:
        dataset_id (str): a dataset id or alias (``hub datasets``); an unknown one names the closest ids.
        split (str): ``train``, ``val``, ``test`` or ``all`` (train + val).
        fold (int): the validation fold, ``0 .. folds - 1``.
        folds (int): the number of folds (at least 2).
        seed (int): the seed of the fold assignment.
        transform (str | Callable | None): ``"default"``: each item is the case through the run's deterministic
            preprocessing (load, reorient, resample, normalise, as ``hub run`` does), as tensors: ``{"id",
            "image": float32 (C, X, Y[, Z]), "label": int64 (X, Y[, Z]) label map / class / float32 value,
            "spacing": float64 (D,)}`` (``label`` left out for cases without one); ``None``: the layout's case
            dict as it is (paths, with their ``#`` selectors); a callable: applied to the loaded case
            (``"image"`` float32 ``(C, ...)`` and ``"label"`` int64 arrays read from the files, plus ``"affine"``
            and ``"spacing"``); what it returns is the item.
        cache (bool): keep the preprocessed cases in the on-disk cache (``$MEDHUB_HOME/cache``, ``hub cache``);
            a second pass reads them back.
        options (Mapping | None): run options that change the preprocessing (``target_spacing``,
            ``normalization``, ``ct_window``, ...; docs/runner.md), checked like a ``--config`` file.

    Returns:
        A ``torch.utils.data.Dataset`` (``len``, indexing; ``.cases``: the case dicts, ``.manifest``: the split)
        that a ``torch.utils.data.DataLoader`` batches with :func:`collate`.

    Example:
        >>> import medhub
        >>> train = medhub.dataset("synthetic/spheres", split="train", fold=0)
        >>> len(train), sorted(train[0])
        (25, ['id', 'image', 'label', 'spacing'])
        >>> train[0]["image"].shape[0], train[0]["image"].dtype, train[0]["label"].dtype
        (1, torch.float32, torch.int64)
        >>> raw = medhub.dataset("synthetic/spheres", split="test", transform=None)
        >>> raw[0]["image"].name
        'spheres_032.nii.gz'
    """
    from medhub.core.data.availability import ensure_available
    from medhub.core.data.cases import parse_dataset, split_cases
    from medhub.core.data.torch_dataset import CaseDataset, case_loader
    from medhub.core.plugin_manager import get_registry
    from medhub.core.runconfig.options import check_keys
    from medhub.core.runner.config import resolve

    info = get_registry().dataset(dataset_id)
    check_keys(dict(options or {}), "medhub.dataset(options=...)")
    root = ensure_available(info.id, quiet=True)
    cases, manifest = split_cases(parse_dataset(info.id, root), split, fold=fold, folds=folds, seed=seed)
    config = resolve(dict(options or {}), {"dataset": info.id, "cache": bool(cache)})
    return CaseDataset(cases, case_loader(transform, info, config), info, split, manifest)


def model(model_id: str, in_channels: int, out_channels: int, **hparams: Any) -> Any:
    """A registered model, built (the network ``hub run`` trains).

    Args:
        model_id (str): a model id or alias (``hub models``); an unknown one names the closest ids.
        in_channels (int): image channels.
        out_channels (int): output channels (classes; 1 for regression).
        **hparams: hyper-parameters overriding the registered ones (``hub info MODEL``); an unknown name is
            refused with the closest valid names.

    Returns:
        The ``torch.nn.Module`` (it returns logits).

    Example:
        >>> import torch, medhub
        >>> net = medhub.model("unet3d", 1, 3, channels=[4, 8, 16, 32])
        >>> net(torch.zeros(1, 1, 32, 32, 32)).shape
        torch.Size([1, 3, 32, 32, 32])
        >>> medhub.model("unet3", 1, 3)
        Traceback (most recent call last):
        medhub.core.errors.UnknownIdError: unknown model "unet3". Did you mean: unet3d, ...? List them with: hub models
    """
    from medhub.core.plugin_manager import get_registry

    return get_registry().model(model_id).build(int(in_channels), int(out_channels), **hparams)


def evaluate(pred: Any, ref: Any, protocol: Any = None, spacing: Sequence[float] | None = None) -> dict[str, Any]:
    """One prediction scored against its reference, as ``hub evaluate`` scores each case.

    Args:
        pred (array | tensor | str | Path): the predicted label map (integers; argmax the logits first), or its
            file.
        ref (array | tensor | str | Path): the reference label map on the same voxel grid, or its file.
        protocol (None | str | Protocol | Mapping): a dataset id (its evaluation protocol: ``hub info ID``), a
            :class:`~medhub.core.metrics.protocol.Protocol`, a protocol mapping as a card holds it (``regions``,
            ``metrics``, ``empty``, ``ranking``, ...; docs/metrics.md), or None: Dice of every label value of the
            pair but 0.
        spacing (Sequence[float] | None): voxel size in mm per axis for arrays (default 1 mm); a reference file
            gives its own (a different ``spacing`` is refused).

    Returns:
        ``{"metrics", "labels", "regions", "per_case", "mean", "overall", "ranking", "protocol"}``: ``per_case``
        the rows ``{"case", "label", <metric>: value}``, ``mean`` per region, ``overall`` per metric, ``ranking``
        ``{"name", "value"}``, ``protocol`` its id and version (the table of ``hub evaluate --json``).

    Example:
        >>> import numpy as np, medhub
        >>> ref = np.zeros((8, 8, 8), np.uint8); ref[2:6, 2:6, 2:6] = 1
        >>> pred = np.zeros_like(ref); pred[2:6, 2:6, 2:5] = 1
        >>> scores = medhub.evaluate(pred, ref, spacing=(1.0, 1.0, 2.0))
        >>> round(scores["overall"]["dice"], 4), scores["protocol"]
        (0.8571, {'id': 'labels', 'version': '1'})
        >>> medhub.evaluate(pred, ref, protocol={"metrics": ["dice", "hd95"]})["overall"]["hd95"]
        1.0
    """
    from medhub.core.metrics.pair import evaluate_pair

    return evaluate_pair(pred, ref, protocol, spacing)


def collate(batch: Sequence[Any]) -> Any:
    """Batch case dicts: the ``collate_fn`` of a ``torch.utils.data.DataLoader`` over :func:`dataset`.

    Arrays and tensors are stacked along a new first axis (one shape per key: crop or pad in the transform, or
    use ``batch_size=1``; different shapes are an error naming the cases), numbers become a tensor of
    ``len(batch)``, and everything else (ids, paths, None, nested dicts) a list with one entry per case. Unlike
    torch's default collate it takes raw case dicts (paths) and a ``(D,)`` spacing stays one ``(B, D)`` tensor.

    Args:
        batch (Sequence): the items of one batch (case dicts).

    Returns:
        One dict: ``{"id": [ids], "image": (B, C, X, Y[, Z]), "label": (B, X, Y[, Z]), "spacing": (B, D)}`` for
        the default transform.

    Example:
        >>> import torch, medhub
        >>> batch = medhub.collate([{"id": "a", "image": torch.zeros(1, 4, 4), "spacing": torch.ones(2)},
        ...                         {"id": "b", "image": torch.ones(1, 4, 4), "spacing": torch.ones(2)}])
        >>> batch["id"], batch["image"].shape, batch["spacing"].shape
        (['a', 'b'], torch.Size([2, 1, 4, 4]), torch.Size([2, 2]))
    """
    from medhub.core.data.torch_dataset import collate_cases

    return collate_cases(batch)

