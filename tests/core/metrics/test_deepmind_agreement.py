"""``surface="elements"`` equals DeepMind's ``surface-distance`` on random mask pairs (when it is installed).

DeepMind's package is only a test / benchmark extra (``pip install surface-distance``); without it these
tests are skipped and the fixed expected-value tests (test_deepmind_cases.py, test_surfels.py) still run.
Empty masks are left out: the PyPI release 0.1 uses ``np.Inf``, which NumPy 2 removed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from medhub.core.metrics.segmentation import assd, hd, hd95, nsd
from medhub.core.metrics.surface import surface_distances
from medhub.core.metrics.surfels import area_table
from scipy import ndimage

sd = pytest.importorskip("surface_distance")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its scipy.ndimage.filters / morphology namespaces are deprecated
        yield


def blob(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.normal(size=shape), sigma)
    return field > np.percentile(field, 65)


def test_area_tables_equal_deepminds_at_random_spacings():
    rng = np.random.default_rng(0)
    for _ in range(10):
        spacing = tuple(rng.uniform(0.2, 5.0, 3))
        np.testing.assert_allclose(area_table(spacing), sd.lookup_tables.create_table_neighbour_code_to_surface_area(
            spacing), rtol=0, atol=1e-12)
        plane = spacing[:2]
        np.testing.assert_allclose(area_table(plane), sd.lookup_tables.create_table_neighbour_code_to_contour_length(
            plane), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_metrics_equal_deepminds_on_random_pairs(seed):
    rng = np.random.default_rng(seed)
    shape = (48, 40) if seed % 3 == 0 else (26, 24, 12)
    spacing = tuple(float(s) for s in rng.uniform(0.4, 3.0, len(shape)))
    pred = blob(rng, shape, 2.0 if seed % 2 else 0.7)  # smooth blobs and speckle
    ref = blob(rng, shape, 2.0)
    theirs = sd.compute_surface_distances(ref, pred, spacing)
    for method in ("tree", "transform"):  # both exact algorithms (the metrics below pick one)
        d = surface_distances(pred, ref, spacing, method=method, surface="elements")
        np.testing.assert_allclose(np.sort(d.ref_to_pred), theirs["distances_gt_to_pred"], atol=1e-12)
        np.testing.assert_allclose(np.sort(d.pred_to_ref), theirs["distances_pred_to_gt"], atol=1e-12)
        assert d.ref_areas.sum() == pytest.approx(theirs["surfel_areas_gt"].sum(), rel=1e-12)
        assert d.pred_areas.sum() == pytest.approx(theirs["surfel_areas_pred"].sum(), rel=1e-12)
    options = {"surface": "elements", "cache": {}}
    assert hd95(pred, ref, spacing, **options) == pytest.approx(sd.compute_robust_hausdorff(theirs, 95), abs=1e-9)
    assert hd(pred, ref, spacing, **options) == pytest.approx(sd.compute_robust_hausdorff(theirs, 100), abs=1e-9)
    assert assd(pred, ref, spacing, **options) == pytest.approx(
        np.mean(sd.compute_average_surface_distance(theirs)), abs=1e-9)
    for tolerance in (0.0, 1.0, 2.5):
        assert nsd(pred, ref, spacing, tolerance=tolerance, **options) == pytest.approx(
            sd.compute_surface_dice_at_tolerance(theirs, tolerance), abs=1e-9)


def test_metrics_equal_deepminds_on_a_smooth_anisotropic_pair():
    """A pair with sparse surfaces, where the metrics search a k-d tree (the benchmark's case, smaller)."""
    spacing = (0.8, 0.7, 2.5)
    grid = np.ogrid[:90, :80, :30]

    def ellipsoid(centre, radii):
        return sum(((g - c) * s / r) ** 2 for g, c, s, r in zip(grid, centre, spacing, radii)) <= 1.0

    pred, ref = ellipsoid((44, 40, 15), (25, 20, 30)), ellipsoid((47, 38, 16), (22, 23, 26))
    theirs = sd.compute_surface_distances(ref, pred, spacing)
    options = {"surface": "elements", "cache": {}}
    assert hd95(pred, ref, spacing, **options) == pytest.approx(sd.compute_robust_hausdorff(theirs, 95), abs=1e-9)
    assert nsd(pred, ref, spacing, tolerance=2.0, **options) == pytest.approx(
        sd.compute_surface_dice_at_tolerance(theirs, 2.0), abs=1e-9)
    assert assd(pred, ref, spacing, **options) == pytest.approx(
        np.mean(sd.compute_average_surface_distance(theirs)), abs=1e-9)
