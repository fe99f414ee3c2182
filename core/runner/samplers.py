"""Training samples: random patches (segmentation) or shuffled whole images (classification / regression)."""

from __future__ import annotations

from typing import Any

import numpy as np
from medhub.core.data.prepare import Prepared
from medhub.core.runconfig.options import RunConfig


def training_transforms(config: RunConfig, dims: int, task: str, patch_size: tuple[int, ...]) -> Any:
    """The per-sample part of ``transforms.train``: its steps from the first random one on (those before it ran
    when the cases were prepared); by default a random patch (segmentation) and the augmentations."""
    from medhub.core.components import transform_parts
    from medhub.core.plugin_manager import get_registry
    from medhub.core.transforms.pipeline import assemble, random_rest

    context = {"dims": dims, "task": task, "keys": ("image", "label"), "config": config, "patch_size": patch_size}
    return random_rest(assemble(transform_parts(config, get_registry(), task, "train"), context))


class SegmentationSampler:
    """Random patches with foreground oversampling and augmentation, one batch per call (by default; the run's
    ``transforms.train`` says which steps run per sample).

    The batch's case picks and one seed per sample come from the run's generator, in order; each sample is
    then cut and augmented with its own generator. So a batch is the same whether its samples are made one
    after another or by a pool of threads (``pool``), and the run's generator advances by the same draws.
    """

    def __init__(self, cases: list[Prepared], config: RunConfig, dims: int, task: str = "segmentation"):
        self.cases = cases
        self.batch_size = config.batch_size
        patch = tuple(int(p) for p in (config.patch_size or cases[0].image.shape[1:]))
        self.augment = training_transforms(config, dims, task, patch)
        self.image_shape = (self.batch_size, int(cases[0].image.shape[0]), *patch)
        self.label_shape = (self.batch_size, *patch)
        self.label_dtype = np.result_type(*[c.target.dtype for c in cases if c.target is not None] or [np.int64])

    def new_buffers(self, allocate: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Empty (images, labels) arrays for one batch; ``allocate(shape, dtype)`` may supply them (pinned memory)."""
        allocate = allocate or (lambda shape, dtype: np.empty(shape, dtype=dtype))
        return allocate(self.image_shape, np.float32), allocate(self.label_shape, self.label_dtype)

    def __call__(self, rng: np.random.Generator, pool: Any = None,
                 out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        picks = rng.integers(0, len(self.cases), size=self.batch_size)
        seeds = rng.integers(0, 2**63, size=self.batch_size)
        images, labels = out if out is not None else self.new_buffers()

        def make(i: int) -> None:
            case = self.cases[int(picks[i])]
            sample = self.augment({"image": case.image, "label": case.target},
                                  rng=np.random.Generator(np.random.PCG64(int(seeds[i]))))
            check_sample(sample, images[i].shape, labels[i].shape)
            np.copyto(images[i], sample["image"], casting="same_kind")
            np.copyto(labels[i], sample["label"], casting="unsafe")

        if pool is None:
            for i in range(self.batch_size):
                make(i)
        else:
            for _ in pool.map(make, range(self.batch_size)):
                pass
        return images, labels


def check_sample(sample: dict[str, Any], image_shape: tuple[int, ...], label_shape: tuple[int, ...]) -> None:
    """A MedhubError unless a training sample fits the batch (a pipeline without a patch of ``patch_size``)."""
    shapes = np.shape(sample["image"]), np.shape(sample["label"])
    if shapes != (image_shape, label_shape):
        from medhub.core.errors import MedhubError

        raise MedhubError(f"transforms.train made a training sample of image shape {shapes[0]} and label shape "
                          f"{shapes[1]}, but a batch holds {image_shape} and {label_shape}: the per-sample steps must "
                          'cut a patch of patch_size ("patch")')


class ArraySampler:
    """Shuffled mini-batches of whole images with their class or value (classification / regression); the
    per-sample steps of ``transforms.train`` (by default flips) augment each image."""

    def __init__(self, cases: list[Prepared], config: RunConfig, dims: int, task: str = "classification"):
        self.cases = cases
        self.batch_size = min(config.batch_size, len(cases))
        patch = tuple(int(p) for p in (config.patch_size or cases[0].image.shape[1:]))
        augment = training_transforms(config, dims, task, patch)
        self.augment = augment if len(augment) else None
        self.order: list[int] = []

    def steps_per_epoch(self) -> int:
        return max(1, len(self.cases) // self.batch_size)

    def __call__(self, rng: np.random.Generator, pool: Any = None, out: Any = None) -> tuple[np.ndarray, np.ndarray]:
        # whole images, small: made in the calling thread (``pool`` and ``out`` are for the patch sampler)
        if len(self.order) < self.batch_size:
            self.order = [int(i) for i in rng.permutation(len(self.cases))]
        take, self.order = self.order[: self.batch_size], self.order[self.batch_size:]
        images, targets = [], []
        for i in take:
            case = self.cases[i]
            img = case.image
            if self.augment is not None:
                img = self.augment({"image": img}, rng=rng)["image"]
            images.append(np.ascontiguousarray(img, dtype=np.float32))
            targets.append(case.target)
        return np.stack(images), np.asarray(targets)

    def state(self) -> list[int]:
        return list(self.order)

    def load_state(self, order: list[int]) -> None:
        self.order = list(order)
