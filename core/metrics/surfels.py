"""Surface elements of a binary mask on the voxel-corner grid, weighted by area (DeepMind's definition).

Every corner of the voxel grid is shared by 2**n voxels (n = 2 or 3; outside the array counts as
background). Its **neighbourhood code** has one bit per inside voxel: the voxel at offset ``o`` in
``{0, 1}**n`` from the corner's lower neighbour (offset 0 = the voxel before the corner along every axis)
sets bit ``2**(2**n - 1 - index(o))``, ``index`` counting the offsets in lexicographic order. This is the
bit order of DeepMind surface-distance's kernel, so codes compare one to one.

A corner whose code is neither 0 nor all-ones lies on the surface: it is a **surface element** whose
weight is the area (3D, mm²) or length (2D, mm) of the piece of the marching-cubes (marching-squares) cut
surface inside its 2×2(×2) neighbourhood. The cut surface is computed here from its geometry:

- its vertices are the midpoints of the neighbourhood's edges whose two voxels differ;
- on each face, the midpoints are joined around the inside corners; a face whose inside voxels lie on a
  diagonal is cut around the corners of the minority of the whole neighbourhood (inside ones when at most
  half of the 2**n voxels are inside, else outside ones), the rule of the classic 15-case table;
- the face segments close into polygons, each cut into triangles as a fan from one vertex; a polygon
  that is not planar (a pentagon or hexagon) takes the fan with the fewest planar pieces (a triangle and
  a planar quadrilateral; a planar quadrilateral between two triangles), unique up to mirror images.

Areas scale with the spacing triangle by triangle (the cut surface is built in voxel units and scaled),
so the table holds, for every code, the area of the same triangles as DeepMind's published table.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

# A vertex is stored in doubled voxel units: corners at 0 / 2, edge midpoints at 1 (exact integer maths).
Vertex = tuple[int, ...]


def corner_offsets(ndim: int) -> list[tuple[int, ...]]:
    """The 2**ndim voxel offsets of a neighbourhood, in bit order: offset ``k`` carries bit ``2**(2**ndim-1-k)``."""
    return list(itertools.product((0, 1), repeat=ndim))


def _bit(index: int, ndim: int) -> int:
    return 1 << (2 ** ndim - 1 - index)


def neighbourhood_codes(mask: np.ndarray) -> np.ndarray:
    """The code of every corner of ``mask``'s voxel grid: an array of ``mask.shape`` + 1 per axis (uint8)."""
    mask = np.asarray(mask, dtype=bool)
    ndim = mask.ndim
    padded = np.pad(mask, 1).view(np.uint8)
    corners = tuple(s + 1 for s in mask.shape)
    codes = np.zeros(corners, np.uint8)
    for index, offset in enumerate(corner_offsets(ndim)):
        view = padded[tuple(slice(o, o + n) for o, n in zip(offset, corners))]
        codes |= view * np.uint8(_bit(index, ndim))
    return codes


def _face_cycle(fixed: dict[int, int], ndim: int) -> list[Vertex]:
    """The four corners (doubled units), in cyclic order, of the face where the axes in ``fixed`` have those values."""
    free = [a for a in range(ndim) if a not in fixed]
    cycle = []
    for u, w in ((0, 0), (0, 1), (1, 1), (1, 0)):
        corner = [0] * ndim
        for axis, value in fixed.items():
            corner[axis] = 2 * value
        corner[free[0]], corner[free[1]] = 2 * u, 2 * w
        cycle.append(tuple(corner))
    return cycle


def _midpoint(a: Vertex, b: Vertex) -> Vertex:
    return tuple((x + y) // 2 for x, y in zip(a, b))


def _face_segments(cycle: list[Vertex], inside: set[Vertex], cut_inside: bool) -> list[tuple[Vertex, Vertex]]:
    """Marching-squares segments of one face (corner ``cycle``), joining midpoints of edges that change side.

    A face with its inside corners on a diagonal gets two segments, each cutting off one corner of the
    side ``cut_inside`` names.
    """
    flags = [c in inside for c in cycle]
    mids = [_midpoint(cycle[i], cycle[(i + 1) % 4]) for i in range(4)]  # mids[i] on the edge cycle[i]-cycle[i+1]
    changes = [i for i in range(4) if flags[i] != flags[(i + 1) % 4]]
    if len(changes) == 2:
        return [(mids[changes[0]], mids[changes[1]])]
    if len(changes) == 4:
        return [(mids[(i - 1) % 4], mids[i]) for i in range(4) if flags[i] == cut_inside]
    return []


def _close_polygons(segments: list[tuple[Vertex, Vertex]]) -> list[list[Vertex]]:
    """Chain segments sharing end points into closed polygons (every midpoint ends exactly two segments)."""
    todo = list(segments)
    polygons = []
    while todo:
        start, current = todo.pop()
        polygon = [start]
        while current != start:
            polygon.append(current)
            k = next(k for k, seg in enumerate(todo) if current in seg)
            a, b = todo.pop(k)
            current = b if a == current else a
        polygons.append(polygon)
    return polygons


def _det3(a: Vertex, b: Vertex, c: Vertex) -> int:
    return (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
            + a[2] * (b[0] * c[1] - b[1] * c[0]))


def _planar(points: Sequence[Vertex]) -> bool:
    """Whether the points lie in one plane (exact: integer coordinates)."""
    base = points[0]
    diffs = [tuple(x - y for x, y in zip(p, base)) for p in points[1:]]
    return all(_det3(*trio) == 0 for trio in itertools.combinations(diffs, 3))


def _fan(polygon: Sequence[Vertex], apex: int = 0) -> list[tuple[Vertex, Vertex, Vertex]]:
    """The triangles of the fan of ``polygon`` from its vertex ``apex``."""
    ring = list(polygon[apex:]) + list(polygon[:apex])
    return [(ring[0], ring[i], ring[i + 1]) for i in range(1, len(ring) - 1)]


def _planar_pieces(triangles: list[tuple[Vertex, Vertex, Vertex]]) -> int:
    """How many planar pieces a fan's consecutive triangles make (neighbours in one plane merge)."""
    return 1 + sum(not _planar(first + second) for first, second in zip(triangles, triangles[1:]))


def _triangles(polygon: list[Vertex]) -> list[tuple[Vertex, Vertex, Vertex]]:
    """Triangles of a cut polygon: a fan when planar, else the fan with the fewest planar pieces.

    The pentagons become a triangle and a planar quadrilateral; the hexagons a planar quadrilateral between
    two triangles. The fans that tie are mirror images of each other (same area at any spacing).
    """
    if _planar(polygon):
        return _fan(polygon)
    fans = [_fan(polygon, apex) for apex in range(len(polygon))]
    return min(fans, key=_planar_pieces)


def _cut(code: int, ndim: int) -> list[list[Vertex]]:
    """The cut polygons (3D) or segments (2D, as two-vertex lists) of one neighbourhood code."""
    offsets = corner_offsets(ndim)
    inside = {tuple(2 * v for v in o) for k, o in enumerate(offsets) if code & _bit(k, ndim)}
    cut_inside = len(inside) <= len(offsets) // 2
    if ndim == 2:
        return [list(seg) for seg in _face_segments(_face_cycle({}, 2), inside, cut_inside)]
    segments = []
    for axis in range(3):
        for side in (0, 1):
            segments += _face_segments(_face_cycle({axis: side}, 3), inside, cut_inside)
    return _close_polygons(segments)


@lru_cache(maxsize=2)
def _unit_pieces(ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(code of each piece, piece vertices in voxel units)``: segments (2D, k×2×2) or triangles (3D, k×3×3)."""
    codes, pieces = [], []
    for code in range(1, 2 ** 2 ** ndim - 1):
        for polygon in _cut(code, ndim):
            for piece in ([tuple(polygon)] if ndim == 2 else _triangles(polygon)):
                codes.append(code)
                pieces.append(piece)
    return np.array(codes, dtype=np.int64), np.array(pieces, dtype=np.float64) / 2.0


def area_table(spacing: Sequence[float]) -> np.ndarray:
    """Area (3D, mm²) or length (2D, mm) of the surface element of every neighbourhood code at ``spacing``.

    Index: the code (256 entries in 3D, 16 in 2D); codes 0 and all-ones (no surface) have 0.
    """
    scale = np.asarray([float(s) for s in spacing], dtype=np.float64)
    ndim = scale.size
    if ndim not in (2, 3):
        raise ValueError(f"surface elements are defined for 2D and 3D masks, not {ndim}D")
    codes, pieces = _unit_pieces(ndim)
    scaled = pieces * scale
    if ndim == 2:
        sizes = np.linalg.norm(scaled[:, 1] - scaled[:, 0], axis=1)
    else:
        sizes = 0.5 * np.linalg.norm(np.cross(scaled[:, 1] - scaled[:, 0], scaled[:, 2] - scaled[:, 0]), axis=1)
    return np.bincount(codes, weights=sizes, minlength=2 ** 2 ** ndim)


def surface_elements(mask: np.ndarray, spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """``(on_surface, areas)``: which corners of ``mask``'s grid are surface elements, and their areas in C order.

    ``on_surface`` has ``mask.shape`` + 1 per axis; ``areas[k]`` belongs to the k-th True corner of
    ``on_surface`` (the order of ``np.argwhere``).
    """
    codes = neighbourhood_codes(mask)
    full = 2 ** 2 ** codes.ndim - 1
    on_surface = (codes != 0) & (codes != full)
    return on_surface, area_table(spacing)[codes[on_surface]]

