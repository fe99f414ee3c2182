"""A registered dataset's cases as a ``torch.utils.data.Dataset`` of case dicts, and the collate for them.

Three ways to load a case (``medhub.dataset(..., transform=...)``):

- ``"default"``: the run's deterministic preprocessing (:func:`medhub.core.data.prepare.prepare`, through the
  on-disk cache): ``{"id", "image", "label", "spacing"}`` as tensors (``label`` left out when the case has none);
- ``None``: the layout's case dict as it is (paths, ``#`` selectors and all);
- a callable: applied to the loaded case, ``{"id", ..., "image": float32 (C, ...) array, "label": int64 (...)
  array, "affine", "spacing"}`` (images read, nothing else changed); it returns what the item is.

Every loader is a module-level function bound with :func:`functools.partial`, so a ``DataLoader`` with worker
processes can pickle the dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from medhub.core.errors import MedhubError
from medhub.core.registry import DatasetInfo

if TYPE_CHECKING:
    from medhub.core.runconfig.options import RunConfig

class CaseDataset(torch.utils.data.Dataset):
    """The cases of one split; item ``i`` is ``load(cases[i])``.

    Attributes: ``cases`` (the layout's case dicts), ``info`` (the dataset's card), ``split``, ``manifest``
    (the :class:`~medhub.core.data.splits.SplitManifest`: fold, seed, its fingerprint).
    """

    def __init__(self, cases: Sequence[dict[str, Any]], load: Callable[[dict[str, Any]], Any], info: DatasetInfo,
                 split: str, manifest: Any = None):
        self.cases = list(cases)
        self.load = load
        self.info = info
        self.split = split
        self.manifest = manifest

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, index: int) -> Any:
        if not -len(self.cases) <= index < len(self.cases):
            raise IndexError(f'dataset "{self.info.id}" split "{self.split}" has {len(self.cases)} cases, '
                             f"no index {index}")
        return self.load(self.cases[index])

    def __repr__(self) -> str:
        return f"CaseDataset({self.info.id!r}, split={self.split!r}, cases={len(self.cases)})"


def raw_case(case: dict[str, Any]) -> dict[str, Any]:
    """The layout's case dict (a copy), paths as the layout gives them."""
    return dict(case)


def loaded_case(case: dict[str, Any], info: DatasetInfo) -> dict[str, Any]:
    """The case with its image (and label) read: float32 ``(C, ...)`` image, int64 label map, ``affine`` and
    ``spacing``; classification / regression targets stay as the layout gives them."""
    from medhub.core import transforms as T

    keys = ("image", "label") if info.task == "segmentation" and case.get("label") is not None else ("image",)
    return T.Compose([T.LoadImage(keys=keys, dims=info.dims), T.ToArrays(keys=keys)])(dict(case))


def user_case(case: dict[str, Any], info: DatasetInfo, transform: Callable[[dict[str, Any]], Any]) -> Any:
    """``transform`` applied to the loaded case (:func:`loaded_case`)."""
    return transform(loaded_case(case, info))


def target_tensor(target: Any) -> torch.Tensor:
    """A prepared target as a tensor: a label map or class int64, multi-label vectors and values float32."""
    array = np.asarray(target)
    dtype = torch.int64 if array.dtype.kind in "iub" else torch.float32
    return torch.as_tensor(np.array(array), dtype=dtype)


def prepared_case(case: dict[str, Any], config: RunConfig, info: DatasetInfo) -> dict[str, Any]:
    """The case through the run's deterministic preprocessing (cached when ``config.cache``), as tensors."""
    from medhub.core.data.prepare import prepare

    done = prepare([case], config, info, desc="prepare", quiet=True)[0]
    out: dict[str, Any] = {"id": done.id, "image": torch.from_numpy(np.array(done.image, dtype=np.float32))}
    if done.target is not None:
        out["label"] = target_tensor(done.target)
    out["spacing"] = torch.tensor(done.spacing, dtype=torch.float64)
    return out


def case_loader(transform: Any, info: DatasetInfo, config: RunConfig) -> Callable[[dict[str, Any]], Any]:
    """The per-case loader ``transform`` names (``"default"``, None or a callable; see the module doc)."""
    if transform is None:
        return raw_case
    if isinstance(transform, str):
        if transform != "default":
            raise MedhubError(f'dataset "{info.id}": unknown transform "{transform}"; use "default" (the run\'s '
                              "preprocessing), None (the raw case dicts) or a callable applied to each loaded case")
        return partial(prepared_case, config=config, info=info)
    if not callable(transform):
        raise MedhubError(f'dataset "{info.id}": transform must be "default", None or a callable, got '
                          f"{type(transform).__name__}")
    return partial(user_case, info=info, transform=transform)


# ------------------------------------------------------------------------------------------------- collate
def _case_ids(batch: Sequence[Any]) -> str:
    return ", ".join(str(b.get("id", i)) if isinstance(b, Mapping) else str(i) for i, b in enumerate(batch))


def _stack(values: list[Any], key: str, ids: Sequence[str]) -> torch.Tensor:
    tensors = [v if isinstance(v, torch.Tensor) else torch.as_tensor(np.array(v)) for v in values]
    shapes = [tuple(t.shape) for t in tensors]
    if len(set(shapes)) > 1:
        listed = ", ".join(f"{i} {s}" for i, s in zip(ids, shapes))
        raise MedhubError(f'collate: "{key}" has different shapes in one batch ({listed}); crop or pad the cases '
                          "to one size in the transform (e.g. a random patch), or use batch_size=1")
    return torch.stack(tensors)


def _collate_values(values: list[Any], key: str, ids: Sequence[str]) -> Any:
    first = values[0]
    if isinstance(first, (torch.Tensor, np.ndarray)):
        return _stack(values, key, ids)
    if isinstance(first, (bool, int, float, np.number)) and all(isinstance(v, type(first)) for v in values):
        return torch.as_tensor(values)
    return list(values)  # ids, paths, None, nested dicts: one per case


def collate_cases(batch: Sequence[Any]) -> Any:
    """A list of case dicts as one dict: arrays and tensors stacked along a new first axis (they must have one
    shape), numbers as a tensor of ``len(batch)``, everything else (ids, paths, None, dicts) as a list."""
    if not batch:
        raise MedhubError("collate: the batch is empty")
    if not all(isinstance(b, Mapping) for b in batch):
        return _collate_values(list(batch), "item", [str(i) for i in range(len(batch))])
    ids = [str(b.get("id", i)) for i, b in enumerate(batch)]
    keys = list(batch[0])
    odd = next((b for b in batch if list(b) != keys and set(b) != set(keys)), None)
    if odd is not None:
        raise MedhubError(f"collate: the cases of one batch have different keys ({', '.join(map(str, keys))} vs "
                          f"{', '.join(map(str, odd))}; cases {_case_ids(batch)}); give every case the same keys")
    return {k: _collate_values([b[k] for b in batch], str(k), ids) for k in keys}
