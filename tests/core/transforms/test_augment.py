"""Random transforms, Compose, LoadImage/ToArrays/OneHot."""

from __future__ import annotations

import numpy as np
import pytest
from medhub.core.io import Image, write_image
from medhub.core.transforms import (
    Compose,
    CTWindow,
    LoadImage,
    OneHot,
    RandAffine,
    RandFlip,
    RandIntensity,
    RandNoise,
    RandPatch,
    RandRot90,
    Reorient,
    Resample,
    ToArrays,
)


def _case(shape=(24, 24, 16)):
    rng = np.random.default_rng(0)
    image = rng.random((1,) + shape).astype(np.float32)
    label = np.zeros(shape, np.int64)
    label[20:22, 1:3, 14:16] = 1  # tiny foreground in a corner: random patches rarely hit it
    return {"id": "c", "image": image, "label": label}


def test_rand_patch_hits_foreground_at_the_requested_rate():
    case = _case()
    patch = RandPatch((8, 8, 8), fg_fraction=0.5)
    rng = np.random.default_rng(123)
    hits = 0
    for _ in range(400):
        out = patch(case, rng)
        assert out["image"].shape == (1, 8, 8, 8) and out["label"].shape == (8, 8, 8)
        o = out["patch_origin"]
        np.testing.assert_array_equal(out["label"], case["label"][o[0]:o[0] + 8, o[1]:o[1] + 8, o[2]:o[2] + 8])
        hits += bool(out["label"].any())
    # forced half + the few random patches that reach the corner (~1.7% of the random half)
    assert 0.44 <= hits / 400 <= 0.60
    never = RandPatch((8, 8, 8), fg_fraction=0.0)
    assert sum(never(case, rng)["label"].any() for _ in range(200)) < 20


def test_rand_patch_pads_small_images_and_updates_image_affine():
    img = Image(np.ones((1, 4, 4, 4), np.float32), np.diag([2.0, 2.0, 2.0, 1.0]))
    out = RandPatch((6, 4, 2), fg_fraction=0)({"image": img}, np.random.default_rng(0))
    assert out["image"].spatial_shape == (6, 4, 2)
    assert out["image"].array[0, 0].sum() == 0  # padded slab
    np.testing.assert_allclose(out["image"].origin[:2], (-2.0, 0.0))


def test_same_seed_same_augmentation_and_labels_follow():
    pipeline = Compose([RandPatch((12, 12, 8), fg_fraction=0.5), RandFlip(axes=(0, 1, 2), p=0.5), RandRot90(p=0.9),
                        RandAffine(p=1.0, rotate_deg=20, scale=0.2), RandIntensity(p=1.0), RandNoise(p=1.0, std=0.1)])
    case = _case()
    case["label"] = (case["image"][0] > 0.5).astype(np.int64)
    a = pipeline(case, rng=np.random.default_rng(7))
    b = pipeline(case, rng=np.random.default_rng(7))
    c = pipeline(case, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["label"], b["label"])
    assert not np.array_equal(a["image"], c["image"])
    assert set(np.unique(a["label"])) <= {0, 1}


def test_flip_moves_image_and_label_together():
    case = _case()
    case["label"] = (case["image"][0] > 0.5).astype(np.int64)
    out = RandFlip(axes=(0,), p=1.0)(case, np.random.default_rng(0))
    np.testing.assert_array_equal(out["image"][0], case["image"][0, ::-1])
    np.testing.assert_array_equal(out["label"], (out["image"][0] > 0.5).astype(np.int64))


@pytest.mark.parametrize("transform", [RandIntensity(p=1.0, scale=0.5, shift=0.5), RandNoise(p=1.0, std=1.0)])
def test_intensity_augmentations_leave_labels(transform):
    case = _case()
    label = case["label"].copy()
    out = transform(case, np.random.default_rng(0))
    assert out["label"] is case["label"]
    np.testing.assert_array_equal(out["label"], label)
    assert not np.array_equal(out["image"], case["image"])


def test_compose_accepts_plain_functions_and_splits_prefix():
    def add_flag(case):
        return {**case, "flag": True}

    pipeline = Compose([add_flag, CTWindow(0, 1), RandFlip(p=1.0), add_flag])
    out = pipeline(_case(), rng=np.random.default_rng(0))
    assert out["flag"] is True
    prefix = pipeline.deterministic_prefix()
    assert prefix.transforms == pipeline.transforms[:2]
    params = pipeline.params()
    assert params[1] == {"name": "CTWindow", "low": 0, "high": 1, "out_min": 0.0, "out_max": 1.0,
                         "keys": ["image", "label"]}
    assert params[0]["name"].endswith("add_flag") and params[0]["code"]
    case = _case()
    Compose([RandFlip(p=1.0)])(case)  # no rng given: one is made
    assert case["image"].shape == (1, 24, 24, 16)


def test_load_to_arrays_and_one_hot(tmp_path):
    aff = np.diag([-1.0, -1.0, 2.0, 1.0])
    image = write_image(np.arange(6 * 5 * 4, dtype=np.int16).reshape(6, 5, 4), tmp_path / "i.nii.gz", affine=aff)
    lab = np.zeros((6, 5, 4), np.float32)
    lab[1:3] = 2
    label = write_image(lab, tmp_path / "l.nii.gz", affine=aff)
    out = Compose([LoadImage(), Reorient("RAS"), Resample((1.0, 1.0, 2.0)), ToArrays()])(
        {"id": "x", "image": str(image), "label": label})
    assert out["image"].dtype == np.float32 and out["image"].shape == (1, 6, 5, 4)
    assert out["label"].dtype == np.int64 and out["label"].shape == (6, 5, 4)
    assert tuple(out["spacing"]) == pytest.approx((1.0, 1.0, 2.0))
    np.testing.assert_allclose(np.diag(out["affine"])[:3], (1.0, 1.0, 2.0))
    loaded = LoadImage()({"image": image, "label": label})
    assert loaded["label"].array.dtype == np.uint8
    onehot = OneHot(3)(out)["label"]
    assert onehot.shape == (3, 6, 5, 4)
    np.testing.assert_array_equal(onehot.argmax(0), out["label"])
