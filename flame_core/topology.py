"""Does a companion file fit this mesh? Checks from the mesh's own triangles, no reference data.

A UV layout, a landmark embedding or a set of masks is made for one triangle list. Put on another
mesh with as many vertices and triangles (the demo head, whose triangles are not FLAME's), its
indices stay in range and land in wrong places. Each kind carries enough structure to tell:

- **UVs** (``uv_faces``): each UV vertex belongs to one mesh vertex, so the corners that share a UV
  vertex must share the mesh vertex. On the mesh a layout was made for, a UV vertex used by
  corners of several mesh vertices is rare (at most :data:`MAX_UV_CONFLICTS` of them); on another
  mesh nearly all are.
- **Masks**: a region is a patch of the surface. Its vertices (or triangles) form at most
  :data:`MAX_REGION_PIECES` pieces connected by the mesh's edges; on another mesh the same indices
  scatter into dozens. Regions under :data:`MIN_REGION_SIZE` are not judged.
- **Landmarks**: facial landmarks come in chains (jaw line, brows, eyes, lips, or a dense face
  cover), so on the template consecutive landmarks lie close together: the median step is at most
  :data:`MAX_LANDMARK_STEP` of the template's size. On another mesh they jump across the head. Sets of
  fewer than :data:`MIN_LANDMARKS` (a few hand-picked points need not form chains) are not judged.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Largest share of UV vertices used by corners of more than one mesh vertex.
MAX_UV_CONFLICTS = 0.02
#: Most edge-connected pieces a region may have.
MAX_REGION_PIECES = 4
#: Smallest region (vertices or triangles) whose pieces are counted.
MIN_REGION_SIZE = 10
#: Largest median distance between consecutive landmarks, as a share of the template's diagonal.
MAX_LANDMARK_STEP = 0.1
#: Smallest landmark set whose chains are judged.
MIN_LANDMARKS = 20


def edges(faces: np.ndarray) -> np.ndarray:
    """(3F, 2) edges of the triangles, each (low, high) vertex index (repeated for shared edges)."""
    f = np.asarray(faces, dtype=np.int64)
    pairs = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    return np.sort(pairs, axis=1)


def edge_set(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """Sorted unique edge keys ``low * n_vertices + high`` of the triangles."""
    e = edges(faces)
    return np.unique(e[:, 0] * n_vertices + e[:, 1])


def uv_conflicts(faces: np.ndarray, uv_faces: np.ndarray, n_uvs: int) -> tuple[int, int]:
    """(UV vertices used by corners of more than one mesh vertex, UV vertices used at all)."""
    pairs = np.unique(np.stack([np.asarray(uv_faces).ravel(), np.asarray(faces).ravel()], axis=1), axis=0)
    owners = np.bincount(pairs[:, 0], minlength=n_uvs)
    return int(np.count_nonzero(owners > 1)), int(np.count_nonzero(owners))


def uvs_fit(faces: np.ndarray, uv_faces: np.ndarray, n_uvs: int) -> tuple[bool, str]:
    """Whether a UV layout was made for these triangles, and the evidence."""
    shared, used = uv_conflicts(faces, uv_faces, n_uvs)
    ok = shared <= MAX_UV_CONFLICTS * max(used, 1)
    return ok, f"{shared} of {used} UV vertices are used by corners of different mesh vertices"


def pieces(n_vertices: int, links: np.ndarray, members: np.ndarray) -> int:
    """Connected pieces of the vertices ``members`` joined by the vertex pairs ``links`` (K, 2)."""
    members = np.unique(np.asarray(members, dtype=np.int64))
    if members.size == 0:
        return 0
    label = np.arange(n_vertices)
    a, b = links[:, 0], links[:, 1]
    while True:  # label propagation: every vertex takes the smallest label among its linked neighbours
        low = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        label = label[label]
        if np.array_equal(label, before):
            break
    return int(np.unique(label[members]).size)


def vertex_region_pieces(faces: np.ndarray, n_vertices: int, indices: np.ndarray) -> int:
    """Pieces of a vertex region: its vertices joined by mesh edges with both ends inside."""
    inside = np.zeros(n_vertices, dtype=bool)
    inside[indices] = True
    e = edges(faces)
    return pieces(n_vertices, e[inside[e[:, 0]] & inside[e[:, 1]]], indices)


def face_region_pieces(faces: np.ndarray, n_vertices: int, indices: np.ndarray) -> int:
    """Pieces of a triangle region: its triangles joined where they share a vertex."""
    chosen = np.asarray(faces)[np.asarray(indices, dtype=np.int64)]
    return pieces(n_vertices, edges(chosen), chosen.ravel())


def misfit_regions(faces: np.ndarray, n_vertices: int, regions: Mapping[str, np.ndarray],
                   per_face: bool) -> dict[str, int]:
    """Regions that scatter into more than :data:`MAX_REGION_PIECES` pieces, with their piece counts."""
    count = face_region_pieces if per_face else vertex_region_pieces
    out = {}
    for name, idx in regions.items():
        if np.unique(idx).size >= MIN_REGION_SIZE:
            n = count(faces, n_vertices, idx)
            if n > MAX_REGION_PIECES:
                out[name] = n
    return out


def landmark_step(points: np.ndarray, template: np.ndarray) -> float:
    """Median distance between consecutive landmarks (L, 3), as a share of the template's diagonal."""
    if len(points) < MIN_LANDMARKS:
        return 0.0
    size = float(np.linalg.norm(template.max(axis=0) - template.min(axis=0))) or 1.0
    return float(np.median(np.linalg.norm(np.diff(points, axis=0), axis=1))) / size
