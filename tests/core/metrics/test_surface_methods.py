"""The two exact surface-distance algorithms (column search with a k-d tree, and distance transform) agree."""

from __future__ import annotations

import numpy as np
import pytest
from medhub.core.metrics.surface import boundary, surface_distances
from scipy import ndimage


def _blob(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.normal(size=shape), sigma)
    return field > np.percentile(field, 70)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.7, 0.9, 3.0)])
def test_tree_and_transform_give_the_same_directed_distances(seed, spacing):
    rng = np.random.default_rng(seed)
    # Smooth blobs (sparse boundaries) and speckle (dense boundaries) both exercise the column search.
    pred = _blob(rng, (40, 36, 12), 3.0)
    ref = _blob(rng, (40, 36, 12), 3.0 if seed % 2 else 0.8)
    tree = surface_distances(pred, ref, spacing, method="tree")
    transform = surface_distances(pred, ref, spacing, method="transform")
    np.testing.assert_allclose(np.sort(tree.pred_to_ref), np.sort(transform.pred_to_ref), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.sort(tree.ref_to_pred), np.sort(transform.ref_to_pred), rtol=0, atol=1e-9)


def test_far_apart_masks_use_the_tree_fallback_exactly():
    from medhub.core.metrics.surface import _column_distances

    pred = np.zeros((8, 8, 24), bool)
    ref = np.zeros((8, 8, 24), bool)
    pred[2:5, 2:5, 1:3] = True
    ref[3:6, 2:6, 15:18] = True  # 13 slices of 3 mm across the columns: beyond the column search's radius
    spacing = (0.7, 0.9, 3.0)
    points = np.argwhere(boundary(pred))
    assert np.isinf(_column_distances(points, boundary(ref), np.array(spacing))).all()
    tree = surface_distances(pred, ref, spacing, method="tree")
    transform = surface_distances(pred, ref, spacing, method="transform")
    assert tree.pred_to_ref.min() == pytest.approx(13 * 3.0)
    np.testing.assert_allclose(np.sort(tree.ref_to_pred), np.sort(transform.ref_to_pred), atol=1e-9)
    np.testing.assert_allclose(np.sort(tree.pred_to_ref), np.sort(transform.pred_to_ref), atol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_points_handed_to_the_tree_early_are_exact(seed, monkeypatch):
    from medhub.core.metrics import surface

    monkeypatch.setattr(surface, "EMPTY_STEPS", 0)  # hand over every point with nothing in its first columns
    monkeypatch.setattr(surface, "HANDOVER_MIN", 1)
    rng = np.random.default_rng(seed)
    pred, ref = _blob(rng, (30, 28, 10), 2.0), _blob(rng, (30, 28, 10), 2.0)
    spacing = (0.8, 0.8, 2.5)
    tree = surface_distances(pred, ref, spacing, method="tree")
    transform = surface_distances(pred, ref, spacing, method="transform")
    np.testing.assert_allclose(np.sort(tree.pred_to_ref), np.sort(transform.pred_to_ref), atol=1e-9)
    np.testing.assert_allclose(np.sort(tree.ref_to_pred), np.sort(transform.ref_to_pred), atol=1e-9)


def test_distances_match_a_brute_force_search():
    rng = np.random.default_rng(7)
    pred, ref = _blob(rng, (14, 12, 6), 1.5), _blob(rng, (14, 12, 6), 1.5)
    spacing = np.array([0.5, 1.2, 2.0])
    bp, br = np.argwhere(boundary(pred)), np.argwhere(boundary(ref))
    brute = np.sqrt((((bp[:, None, :] - br[None, :, :]) * spacing) ** 2).sum(-1)).min(1)
    got = surface_distances(pred, ref, spacing)
    np.testing.assert_allclose(np.sort(got.pred_to_ref), np.sort(brute), atol=1e-9)


@pytest.mark.parametrize("shape,spacing", [((60,), (0.5,)), ((20, 16), (0.7, 1.9)),
                                           ((7, 6, 5, 4), (1.0, 0.6, 2.0, 1.3))])
def test_boundary_voxel_distances_in_any_dimension_match_a_brute_force_search(shape, spacing):
    rng = np.random.default_rng(len(shape))
    pred, ref = _blob(rng, shape, 1.0), _blob(rng, shape, 1.0)
    spacing = np.array(spacing)
    bp, br = np.argwhere(boundary(pred)), np.argwhere(boundary(ref))
    brute = np.sqrt((((bp[:, None, :] - br[None, :, :]) * spacing) ** 2).sum(-1))
    got = surface_distances(pred, ref, spacing, method="tree")
    np.testing.assert_allclose(np.sort(got.pred_to_ref), np.sort(brute.min(1)), atol=1e-9)
    np.testing.assert_allclose(np.sort(got.ref_to_pred), np.sort(brute.min(0)), atol=1e-9)


def test_boundary_counts_the_array_edge_as_background():
    mask = np.ones((5, 5), bool)
    expected = np.ones((5, 5), bool)
    expected[1:4, 1:4] = False
    assert (boundary(mask) == expected).all()


def test_unknown_method_is_refused():
    mask = np.zeros((4, 4), bool)
    mask[1:3, 1:3] = True
    with pytest.raises(ValueError, match="tree"):
        surface_distances(mask, mask, (1, 1), method="fast")
