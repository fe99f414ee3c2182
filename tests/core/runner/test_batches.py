"""The batch feed: same batches for any number of threads, errors and early stops, compact labels."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from medhub.core.data.prepare import Prepared, compact_labels
from medhub.core.errors import MedhubError
from medhub.core.runconfig.options import RunConfig
from medhub.core.runner.batches import BatchFeed, resolve_workers
from medhub.core.runner.samplers import SegmentationSampler

from tests.generated import tiny_seg_config


def volumes(n: int = 5, shape: tuple[int, int, int] = (20, 18, 16)) -> list[Prepared]:
    rng = np.random.default_rng(3)
    cases = []
    for i in range(n):
        label = np.zeros(shape, np.int64)
        label[4:9, 5:11, 3 + i:8 + i] = 1
        label[12:15, 2:6, 6:9] = 2
        cases.append(Prepared(id=f"case{i}", image=rng.standard_normal((1, *shape)).astype(np.float32),
                              target=compact_labels(label), spacing=(1.0, 1.0, 1.0), source={}))
    return cases


def sampler(**overrides) -> SegmentationSampler:
    config = RunConfig.from_dict({"model": "unet3d", "batch_size": 3, "patch_size": [12, 12, 24], "fg_fraction": 0.5,
                                  "augment": True, **overrides}, task="segmentation")
    return SegmentationSampler(volumes(), config, dims=3)


def epoch_batches(feed: BatchFeed, seed: int, steps: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict]:
    rng = np.random.default_rng(seed)
    batches = [(x.numpy().copy(), y.numpy().copy()) for x, y in feed.epoch(rng, steps)]
    return batches, rng.bit_generator.state


def feed_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "medhub-feed"]


@pytest.mark.parametrize("workers", [1, 3])
def test_threads_make_the_same_batches_and_leave_the_generator_in_the_same_state(workers):
    reference, ref_state = epoch_batches(BatchFeed(sampler(), "cpu", workers=0), seed=11, steps=5)
    feed = BatchFeed(sampler(), "cpu", workers=workers)
    got, state = epoch_batches(feed, seed=11, steps=5)
    feed.close()
    assert state == ref_state
    assert len(got) == 5
    for (a, b), (c, d) in zip(got, reference):
        assert a.shape == (3, 1, 12, 12, 24) and a.dtype == np.float32
        assert b.shape == (3, 12, 12, 24) and b.dtype == np.uint8
        assert np.array_equal(a, c) and np.array_equal(b, d)
    # batches differ from step to step (each is a fresh draw, not a reused buffer)
    assert not np.array_equal(got[0][0], got[1][0])


def test_a_patch_is_a_window_of_one_case_with_its_label_and_zero_padding():
    s = sampler(augment=False, fg_fraction=1.0)  # patch 12 x 12 x 24 from 20 x 18 x 16 volumes
    images, labels = s(np.random.default_rng(0))
    lead = (24 - 16) // 2  # the short third axis is centred in the patch
    for image, label in zip(images, labels):
        assert label.max() >= 1  # foreground oversampling at fg_fraction 1
        found = [(case, i, j) for case in s.cases for i in range(20 - 12 + 1) for j in range(18 - 12 + 1)
                 if np.array_equal(case.image[0, i:i + 12, j:j + 12], image[0, :, :, lead:lead + 16])]
        assert len(found) == 1
        case, i, j = found[0]
        assert np.array_equal(label[:, :, lead:lead + 16], case.target[i:i + 12, j:j + 12])
        assert not image[:, :, :, :lead].any() and not image[:, :, :, lead + 16:].any()
        assert not label[:, :, :lead].any() and not label[:, :, lead + 16:].any()


def test_an_error_in_the_producer_reaches_the_loop_and_the_thread_ends():
    inner = sampler()
    calls = {"n": 0}

    class Broken:
        batch_size = inner.batch_size

        def __call__(self, rng, pool=None, out=None):
            calls["n"] += 1
            if calls["n"] == 3:
                raise MedhubError("case7.nii.gz is unreadable")
            return inner(rng, pool=pool, out=out)

    feed = BatchFeed(Broken(), "cpu", workers=2)
    seen = 0
    with pytest.raises(MedhubError, match="case7.nii.gz"):
        for _ in feed.epoch(np.random.default_rng(0), 6):
            seen += 1
    feed.close()
    assert seen == 2
    assert not feed_threads()


def test_leaving_an_epoch_early_stops_the_producer():
    feed = BatchFeed(sampler(), "cpu", workers=1, depth=1)
    batches = feed.epoch(np.random.default_rng(0), 50)
    next(batches)
    time.sleep(0.1)  # let the producer fill the queue and block on it
    batches.close()
    assert not feed_threads()
    feed.close()


def test_waiting_time_is_counted():
    inner = sampler()

    class Slow:
        batch_size = inner.batch_size

        def __call__(self, rng, pool=None, out=None):
            time.sleep(0.02)
            return inner(rng, pool=pool, out=out)

    feed = BatchFeed(Slow(), "cpu", workers=0)
    for _ in feed.epoch(np.random.default_rng(0), 4):
        pass
    assert feed.wait_seconds >= 4 * 0.02


def test_compact_labels_keep_values_in_the_smallest_type():
    assert compact_labels(np.array([0, 1, 255])).dtype == np.uint8
    assert compact_labels(np.array([0, 256])).dtype == np.int16
    assert compact_labels(np.array([-1, 3])).dtype == np.int16
    assert compact_labels(np.array([0, 70000])).dtype == np.int32
    values = np.array([[0, 4], [2, 1]], np.int64)
    assert np.array_equal(compact_labels(values), values)


def test_worker_count_defaults():
    assert resolve_workers("auto", "cpu") == 0
    assert 1 <= resolve_workers("auto", "cuda:0") <= 8
    assert resolve_workers(3, "cpu") == 3


def test_num_workers_does_not_change_the_trained_weights(spheres):
    import torch
    from medhub.core.runner import driver

    weights = {}
    for workers in (0, 2):
        config = tiny_seg_config(batch_size=2, patch_size=[24, 24, 24], onnx=False, tensorboard=False,
                                 num_workers=workers, keep_checkpoints="last")
        record = driver.run(config, quiet=True, run_id=f"workers{workers}")
        path = Path(record["artifacts"]["run_dir"]) / "checkpoints" / "last.pt"
        weights[workers] = torch.load(path, map_location="cpu", weights_only=True)["model"]
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[2][key]), key


def test_num_workers_must_be_auto_or_a_count(spheres):
    for bad in (-1, "many", 1.5):
        with pytest.raises(MedhubError, match="num_workers"):
            tiny_seg_config(num_workers=bad)
