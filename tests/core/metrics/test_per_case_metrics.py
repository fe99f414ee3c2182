"""The per-case metric contract ``fn(pred, ref, spacing, **options) -> float``: options, the shared distance
cache, the registry wiring, the ``surface=`` choice through ``segmentation_scores`` and folder scoring, errors."""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.metrics import plugin, segmentation_scores
from medhub.core.metrics.folders import evaluate_folders
from medhub.core.metrics.segmentation import (
    PER_CASE,
    SEGMENTATION_METRICS,
    assd,
    dice,
    hd,
    hd95,
    iou,
    nsd,
)
from medhub.core.metrics.surface import SurfaceDistances
from medhub.core.registry import resolve_ref

SPACING = (2.0, 1.0, 1.0)


def slabs(shape=(16, 12, 12)):
    """DeepMind's cube test in small: the reference slab and a prediction one slice longer."""
    ref, pred = np.zeros(shape, bool), np.zeros(shape, bool)
    ref[2:8, 2:10, 2:10] = True
    pred[2:9, 2:10, 2:10] = True
    return pred, ref


def test_every_metric_follows_the_contract_and_ignores_options_it_does_not_use():
    pred, ref = slabs()
    options = {"surface": "elements", "tolerance": 2.0, "cache": {}, "unused": "x"}
    for name, fn in PER_CASE.items():
        value = fn(pred, ref, SPACING, **options)
        assert isinstance(value, float) and 0 <= value < math.inf, name
    assert dice(pred, ref, SPACING, **options) == dice(pred, ref, SPACING) == pytest.approx(2 * 6 / 13)
    assert iou(pred, ref, SPACING, **options) == pytest.approx(6 / 7)


@pytest.mark.parametrize("surface", ["voxels", "elements"])
def test_metrics_share_one_distance_computation_through_the_cache(surface, monkeypatch):
    from medhub.core.metrics import surface as surfaces

    pred, ref = slabs()
    expected = {m: PER_CASE[m](pred, ref, SPACING, surface=surface, tolerance=1.0)
                for m in ("hd95", "hd", "assd", "nsd")}
    calls = []
    compute = surfaces.surface_distances
    monkeypatch.setattr(surfaces, "surface_distances", lambda *a, **k: calls.append(k) or compute(*a, **k))
    cache: dict = {}
    got = {m: PER_CASE[m](pred, ref, SPACING, surface=surface, tolerance=1.0, cache=cache) for m in expected}
    assert got == expected
    assert len(calls) == 1 and calls[0]["surface"] == surface
    assert isinstance(cache[surface], SurfaceDistances) and list(cache) == [surface]


def test_the_cache_keeps_the_two_surface_definitions_apart():
    pred, ref = slabs()
    cache: dict = {}
    by_voxels = nsd(pred, ref, SPACING, tolerance=1.0, cache=cache)
    by_elements = nsd(pred, ref, SPACING, tolerance=1.0, surface="elements", cache=cache)
    assert set(cache) == {"voxels", "elements"} and by_voxels != by_elements
    assert cache["voxels"].pred_areas is None and cache["elements"].pred_areas is not None
    # A cached entry is what the metrics read: they do not recompute it.
    cache["voxels"] = SurfaceDistances(pred_to_ref=np.array([7.0]), ref_to_pred=np.array([3.0]))
    assert hd(pred, ref, SPACING, cache=cache) == 7.0 and assd(pred, ref, SPACING, cache=cache) == 5.0


def test_elements_and_voxels_differ_on_deepminds_cube_pair_through_segmentation_scores():
    ref = np.zeros((100, 100, 100), np.uint8)
    ref[0:50] = 1
    pred = np.zeros_like(ref)
    pred[0:51] = 1
    metrics = ("dice", "hd95", "nsd", "assd")
    by_voxels, = segmentation_scores(pred, ref, [1], SPACING, metrics)  # default: today's definition
    by_elements, = segmentation_scores(pred, ref, [1], SPACING, metrics, surface="elements")
    assert by_voxels["nsd"] == pytest.approx(0.755, abs=5e-4)
    assert by_elements["nsd"] == pytest.approx(0.836, abs=5e-4)   # DeepMind's number
    assert by_elements["assd"] == pytest.approx((0.322 + 0.339) / 2, abs=5e-4)
    assert by_voxels["dice"] == by_elements["dice"] and by_elements["hd95"] == 2.0


@pytest.mark.parametrize("surface", ["voxels", "elements"])
def test_empty_masks_keep_the_documented_values(surface):
    blank, full = np.zeros((6, 6, 6), bool), np.zeros((6, 6, 6), bool)
    full[2:4, 2:4, 2:4] = True
    table = {m: PER_CASE[m] for m in ("dice", "iou", "hd95", "hd", "assd", "nsd")}  # the empty-mask table's rows
    for fn in table.values():
        assert math.isnan(fn(blank, blank, (1, 1, 1), surface=surface))
    for pred, ref in ((full, blank), (blank, full)):
        values = {m: fn(pred, ref, (1, 1, 1), surface=surface, cache={}) for m, fn in table.items()}
        assert values == {"dice": 0.0, "iou": 0.0, "hd95": math.inf, "hd": math.inf, "assd": math.inf, "nsd": 0.0}
    assert PER_CASE["volume_difference"](blank, blank, (1, 1, 2)) == 0.0  # no volume on either side
    assert PER_CASE["volume_difference"](full, blank, (1, 1, 2)) == 16.0  # 8 voxels of 2 mm³


def test_the_metrics_plugin_registers_the_per_case_functions():
    infos = []
    plugin.register_metrics(register=infos.append)
    per_case = {info.id: info for info in infos if info.kind == "per_case"}
    assert set(per_case) == set(SEGMENTATION_METRICS)
    pred, ref = slabs()
    for metric_id, info in per_case.items():
        fn = resolve_ref(info.fn)
        assert fn is PER_CASE[metric_id]
        assert fn(pred, ref, SPACING, surface="elements", tolerance=1.0) == PER_CASE[metric_id](
            pred, ref, SPACING, surface="elements", tolerance=1.0)


def test_folder_scoring_takes_the_surface_definition(tmp_path):
    ref = np.zeros((12, 10, 10), np.uint8)
    ref[2:6, 2:8, 2:8] = 1
    pred = np.roll(ref, 1, axis=0)
    for folder, data in (("ref", ref), ("pred", pred)):
        (tmp_path / folder).mkdir()
        nib.save(nib.Nifti1Image(data, np.diag([2.0, 1.0, 1.0, 1.0])), str(tmp_path / folder / "a.nii.gz"))
    rows = {}
    for surface in ("voxels", "elements"):
        result = evaluate_folders(tmp_path / "pred", tmp_path / "ref", metrics=("nsd",), surface=surface)
        rows[surface] = result["per_case"][0]["nsd"]
        expected, = segmentation_scores(pred, ref, [1], (2.0, 1.0, 1.0), ("nsd",), surface=surface)
        assert rows[surface] == expected["nsd"]
    assert rows["voxels"] != rows["elements"]
    with pytest.raises(MedhubError, match='surface "mesh"'):
        evaluate_folders(tmp_path / "pred", tmp_path / "ref", surface="mesh")


def test_bad_input_is_explained():
    pred, ref = slabs()
    with pytest.raises(MedhubError, match='surface "mesh": unknown surface definition'):
        hd95(pred, ref, SPACING, surface="mesh")
    with pytest.raises(MedhubError, match='surface "Elements"'):
        segmentation_scores(pred.astype(np.uint8), ref.astype(np.uint8), [1], SPACING, surface="Elements")
    with pytest.raises(MedhubError, match="dtype uint8.*boolean masks"):
        dice(pred.astype(np.uint8), ref, SPACING)
    with pytest.raises(MedhubError, match="shape"):
        nsd(pred, ref[:-1], SPACING)
    with pytest.raises(MedhubError, match="one voxel size in mm > 0 per axis"):
        hd(pred, ref, (1.0, 1.0))
    with pytest.raises(MedhubError, match="one voxel size in mm > 0 per axis"):
        hd(pred, ref, (1.0, 0.0, 1.0))
    with pytest.raises(MedhubError, match="tolerance -1"):
        nsd(pred, ref, SPACING, tolerance=-1)
    with pytest.raises(MedhubError, match="nsd_tolerance nan"):
        segmentation_scores(pred.astype(np.uint8), ref.astype(np.uint8), [1], SPACING, nsd_tolerance=math.nan)
    four_d = np.ones((3, 3, 3, 3), bool)
    with pytest.raises(MedhubError, match="2D and 3D masks, not 4D"):
        hd95(four_d, four_d, (1, 1, 1, 1), surface="elements")
    assert hd95(four_d, four_d, (1, 1, 1, 1)) == 0.0  # boundary voxels are defined in any dimension
