"""Surface elements: neighbourhood codes and the code -> area table derived from the marching-cubes geometry.

Expected areas are DeepMind surface-distance's published values (``lookup_tables.py``: the table its
``create_table_neighbour_code_to_surface_area`` builds from the triangle normals, and its 2D contour
lengths), at unit spacing and at the (3, 2, 1) mm spacing of its tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from medhub.core.metrics.surfels import (
    area_table,
    corner_offsets,
    neighbourhood_codes,
    surface_elements,
)

SQRT3 = math.sqrt(3.0)

# code: (area at spacing 1, 1, 1; area at spacing 3, 2, 1), DeepMind's values.
PUBLISHED_3D = {
    1: (SQRT3 / 8, 0.875),                    # one voxel: a triangle
    3: (math.sqrt(2) / 2, 1.8027756377319946),  # two voxels along an edge: a rectangle
    7: (0.5 + 3 * SQRT3 / 8, 3.625),          # three voxels of a face: the non-planar pentagon
    9: (SQRT3 / 4, 1.75),                     # two voxels on a face diagonal: two triangles
    15: (1.0, 2.0),                           # a half: the square
    23: (1.2990381056766578, 5.25),           # a voxel and its three neighbours: the planar hexagon
    24: (SQRT3 / 4, 1.75),                    # two voxels on a body diagonal: two triangles
    27: (1.573132184970986, 6.758189813209032),  # a three-edge path: the non-planar hexagon
    60: (math.sqrt(2), 3.605551275463989),    # two opposite edges: two rectangles
    105: (SQRT3 / 2, 3.5),                    # four alternating voxels: four triangles
    129: (SQRT3 / 4, 1.75),
    254: (SQRT3 / 8, 0.875),                  # seven voxels: the triangle of the missing one
}


@pytest.mark.parametrize("code", sorted(PUBLISHED_3D))
def test_3d_areas_equal_deepminds_published_table(code):
    unit, anisotropic = PUBLISHED_3D[code]
    assert area_table((1.0, 1.0, 1.0))[code] == pytest.approx(unit, abs=1e-12)
    assert area_table((3.0, 2.0, 1.0))[code] == pytest.approx(anisotropic, abs=1e-12)


def test_2d_lengths_equal_deepminds_contour_table():
    vertical, horizontal = 2.0, 1.0
    diag = 0.5 * math.hypot(vertical, horizontal)
    expected = {0b0001: diag, 0b0010: diag, 0b0011: horizontal, 0b0100: diag, 0b0101: vertical,
                0b0110: 2 * diag, 0b0111: diag, 0b1000: diag, 0b1001: 2 * diag, 0b1010: vertical,
                0b1011: diag, 0b1100: horizontal, 0b1101: diag, 0b1110: diag}
    table = area_table((vertical, horizontal))
    assert table[0] == 0 and table[15] == 0
    for code, length in expected.items():
        assert table[code] == pytest.approx(length, abs=1e-12), code


def test_complementary_codes_have_the_same_area():
    table = area_table((0.7, 1.3, 2.9))
    np.testing.assert_allclose(table, table[::-1], atol=1e-12)  # code c and 255 - c: inside and outside swap
    assert table[0] == 0 and table[255] == 0 and (table[1:255] > 0).all()


def test_codes_follow_deepminds_kernel_bit_order():
    assert corner_offsets(3)[0] == (0, 0, 0) and corner_offsets(3)[7] == (1, 1, 1)
    mask = np.zeros((3, 3, 3), bool)
    mask[1, 1, 1] = True
    codes = neighbourhood_codes(mask)
    assert codes.shape == (4, 4, 4)
    # The voxel is the "upper" voxel (offset 1, 1, 1 -> bit 1) of corner (1, 1, 1) and the "lower" one
    # (offset 0, 0, 0 -> bit 128) of corner (2, 2, 2).
    assert codes[1, 1, 1] == 1 and codes[2, 2, 2] == 128 and codes[2, 1, 1] == 16
    assert np.count_nonzero(codes) == 8


def test_a_mask_on_the_array_edge_has_surface_there():
    mask = np.ones((2, 3), bool)  # the whole image: outside the array is background
    on_surface, lengths = surface_elements(mask, (1.0, 1.0))
    assert on_surface.shape == (3, 4)
    assert lengths.sum() == pytest.approx(2 * (2 + 3) - 4 * (1 - math.sqrt(2) / 2))  # perimeter, corners cut
    assert not on_surface[1, 1] and not on_surface[1, 2]  # the inner corners


def test_other_dimensions_are_refused():
    with pytest.raises(ValueError, match="2D and 3D"):
        area_table((1.0, 1.0, 1.0, 1.0))
