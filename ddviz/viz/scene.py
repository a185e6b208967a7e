"""3D scenes with PyVista: density isosurfaces, the signed error, atoms, bonds and the cell box.

Everything is drawn in bohr. A :class:`Scene` keeps one actor per layer and updates it in place
when a level changes (``pn.pane.VTK(scene.plotter.ren_win)`` then only needs ``synchronize()``).
Atoms are sphere meshes (vtk.js drops point sprites, text and scalar bars).
"""

from __future__ import annotations

import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np  # noqa: E402
import pyvista as pv  # noqa: E402
from ase.data import covalent_radii  # noqa: E402
from ase.data.colors import jmol_colors  # noqa: E402

from ddviz.errors import DdvizError  # noqa: E402
from ddviz.grid import Grid  # noqa: E402
from ddviz.units import ang_to_bohr  # noqa: E402

# layer name -> colour of its isosurface(s); "error" has a positive and a negative surface
LAYER_COLOURS = {"predicted": "#1f77b4", "reference": "#7f7f7f",
                 "error+": "#d62728", "error-": "#2ca02c"}
LAYERS = ("predicted", "reference", "error")


def grid_dataset(grid: Grid, fields: dict[str, np.ndarray]) -> pv.DataSet:
    """A PyVista dataset of the grid with one point array per field (values of shape grid.shape).

    Axis-aligned grids become ImageData (cheap); skewed ones a StructuredGrid with explicit points.
    """
    if grid.axis_aligned:
        ds = pv.ImageData(dimensions=grid.shape, spacing=tuple(np.diag(grid.vectors)),
                          origin=tuple(grid.origin))
    else:
        ds = pv.StructuredGrid()
        # VTK wants the first axis fastest: reorder the C-order (a slowest) points
        ds.points = grid.points().reshape(*grid.shape, 3).transpose(2, 1, 0, 3).reshape(-1, 3)
        ds.dimensions = grid.shape
    for name, values in fields.items():
        values = np.asarray(values, dtype=np.float32)
        if values.shape != grid.shape:
            raise DdvizError(f"field {name!r} has shape {values.shape}, grid {grid.shape}")
        ds.point_data[name] = values.ravel(order="F")  # VTK: first axis fastest
    return ds


def closed(grid: Grid, fields: dict[str, np.ndarray]) -> tuple[Grid, dict[str, np.ndarray]]:
    """The grid and fields with one periodic layer appended along each periodic axis.

    A periodic grid stops one step short of the far cell face; with the first layer repeated
    there, isosurfaces reach every face and join those of the neighbouring cells.

    Parameters
    ----------
    grid : Grid
        Periodic along some axes (or none: returned unchanged).
    fields : dict of str to ndarray
        Values of shape ``grid.shape``.

    Returns
    -------
    (Grid, dict)
        Shape ``grid.shape + pbc`` (not periodic any more: the end layer duplicates the first).
    """
    if not any(grid.pbc):
        return grid, fields
    pad = [(0, int(p)) for p in grid.pbc]
    shape = tuple(n + int(p) for n, p in zip(grid.shape, grid.pbc))
    return (Grid(grid.origin, grid.vectors, shape),
            {k: np.pad(np.asarray(v), pad, mode="wrap") for k, v in fields.items()})


def isosurface(ds: pv.DataSet, name: str, level: float) -> pv.PolyData:
    """The surface where field ``name`` equals ``level`` (empty PolyData if there is none)."""
    values = ds.point_data[name]
    if not (values.min() < level < values.max()):
        return pv.PolyData()
    method = "flying_edges" if isinstance(ds, pv.ImageData) else "contour"
    return ds.contour([level], scalars=name, method=method, compute_normals=True)


def atom_meshes(atoms, scale: float = 0.35) -> tuple[pv.PolyData, pv.PolyData]:
    """(spheres, bonds) in bohr; spheres carry RGB colours by element (Jmol palette).

    Bonds join atoms closer than 1.15 x the sum of covalent radii.
    """
    pos = ang_to_bohr(atoms.positions)
    z = atoms.numbers
    spheres, colours = [], []
    for p, zi in zip(pos, z):
        s = pv.Sphere(radius=scale * max(ang_to_bohr(covalent_radii[zi]), 0.5), center=p,
                      theta_resolution=16, phi_resolution=16)
        spheres.append(s)
        colours.append(np.tile((jmol_colors[zi] * 255).astype(np.uint8), (s.n_points, 1)))
    balls = pv.merge(spheres) if spheres else pv.PolyData()
    if spheres:
        balls.point_data["rgb"] = np.concatenate(colours)
    r = ang_to_bohr(covalent_radii[z])
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    i, j = np.nonzero(np.triu(d < 1.15 * (r[:, None] + r[None]), k=1))
    bonds = [pv.Tube(pointa=pos[a], pointb=pos[b], radius=0.12, n_sides=10) for a, b in zip(i, j)]
    return balls, (pv.merge(bonds) if bonds else pv.PolyData())


def cell_box(cell_bohr, origin=(0.0, 0.0, 0.0)) -> pv.PolyData:
    """The 12 edges of the parallelepiped spanned by the rows of cell_bohr (3, 3), as lines."""
    cell = np.asarray(cell_bohr, dtype=float)
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float)
    pts = np.asarray(origin) + corners @ cell
    edges = [(a, b) for a in range(8) for b in range(a + 1, 8)
             if np.sum(np.abs(corners[a] - corners[b])) == 1]
    lines = np.array([[2, a, b] for a, b in edges]).ravel()
    return pv.PolyData(pts, lines=lines)


class Scene:
    """An off-screen PyVista scene of densities on one grid (bohr, e/bohr^3).

    fields: any of "predicted", "reference", "error" (pred - ref). Levels: one per density layer
    (the same for predicted and reference unless set apart) and one for |error| (drawn at +level
    and -level in two colours).
    """

    def __init__(self, atoms=None, grid: Grid | None = None, fields: dict | None = None,
                 level: float = 0.05, error_level: float | None = None,
                 show_cell: bool | None = None, window_size=(800, 600)):
        """An empty scene without atoms/grid/fields (fill it with :meth:`show`)."""
        self.plotter = pv.Plotter(off_screen=True, window_size=window_size)
        self.plotter.theme.allow_empty_mesh = True  # a level outside a field's range: no surface
        self.plotter.set_background("white")
        self.actors: dict[str, object] = {}
        if grid is not None:
            self.show(atoms, grid, fields or {}, level, error_level, show_cell)
        else:
            self.plotter.render()

    def show(self, atoms, grid: Grid, fields: dict[str, np.ndarray], level: float = 0.05,
             error_level: float | None = None, show_cell: bool | None = None) -> None:
        """Replace what the scene shows (same render window, so a browser view stays valid)."""
        unknown = set(fields) - set(LAYERS)
        if unknown:
            raise DdvizError(f"unknown scene layers {sorted(unknown)}; known: {LAYERS}")
        self.plotter.clear_actors()
        self.grid = grid
        self.dataset = grid_dataset(*closed(grid, fields))  # periodic: surfaces to the faces
        self.actors: dict[str, object] = {}
        self.level = float(level)
        if error_level is None and "error" in fields:
            error_level = 0.1 * float(np.max(np.abs(fields["error"]))) or 1e-3
        self.error_level = error_level
        for name in fields:
            for key in ((name,) if name != "error" else ("error+", "error-")):
                mesh = self._surface(key)
                opacity = {"predicted": 0.45, "reference": 0.3}.get(key, 0.9)
                self.actors[key] = self.plotter.add_mesh(mesh, color=LAYER_COLOURS[key],
                                                         opacity=opacity, name=key)
        balls, bonds = atom_meshes(atoms)
        if balls.n_points:
            self.actors["atoms"] = self.plotter.add_mesh(balls, scalars="rgb", rgb=True,
                                                         name="atoms", smooth_shading=True)
        if bonds.n_points:
            self.actors["bonds"] = self.plotter.add_mesh(bonds, color="#b0b0b0", name="bonds")
        if show_cell if show_cell is not None else any(grid.pbc):
            cell = ang_to_bohr(np.asarray(atoms.cell)) if np.any(atoms.cell) else grid.cell
            self.actors["cell"] = self.plotter.add_mesh(cell_box(cell), color="black",
                                                        line_width=2, name="cell")
        self.reset_camera()
        self.plotter.render()

    def _surface(self, key: str) -> pv.PolyData:
        if key == "error+":
            return isosurface(self.dataset, "error", self.error_level)
        if key == "error-":
            return isosurface(self.dataset, "error", -self.error_level)
        return isosurface(self.dataset, key, self.level)

    def set_level(self, level: float | None = None, error_level: float | None = None,
                  render: bool = True) -> list[str]:
        """Move the density and/or error isosurfaces.

        Only the surfaces whose level changed are recomputed; each actor keeps its place and
        just gets a new input.

        Parameters
        ----------
        level : float, optional
            New isovalue of the density fields, in their units (e/bohr^3); None keeps it.
        error_level : float, optional
            New isovalue of the signed error (drawn at + and - it), same units; None keeps it.
        render : bool
            Render off-screen afterwards (False: a browser view draws for itself).

        Returns
        -------
        list of str
            The keys of the actors that changed.
        """
        changed = []
        if level is not None and float(level) != self.level:
            self.level = float(level)
            changed += [k for k in ("predicted", "reference") if k in self.actors]
        if error_level is not None and float(error_level) != self.error_level:
            self.error_level = float(error_level)
            changed += [k for k in ("error+", "error-") if k in self.actors]
        for key in changed:
            self.actors[key].mapper.SetInputData(self._surface(key))
        if render:
            self.plotter.render()
        return changed

    def mesh_arrays(self, key: str) -> dict:
        """The current mesh of a layer as plain arrays for a browser view (bohr).

        Returns
        -------
        dict
            ``points`` (float32, x y z per point), ``cells`` (uint32, VTK's legacy layout:
            count then point indices, per cell), ``kind`` ('polys' or 'lines'), ``normals``
            (float32 or None), ``rgb`` (uint8 per point or None), ``colour`` (r, g, b in
            0..1), ``opacity``.
        """
        actor = self.actors[key]
        mesh = pv.wrap(actor.mapper.GetInput())
        if mesh.n_strips:  # tubes (bonds) come as triangle strips
            mesh = mesh.triangulate()
        lines = mesh.n_lines > 0 and mesh.n_faces_strict == 0
        cells = mesh.lines if lines else mesh.faces
        normals = mesh.point_data.get("Normals")
        rgb = mesh.point_data.get("rgb")
        prop = actor.GetProperty()
        return {"points": np.asarray(mesh.points, dtype=np.float32).ravel(),
                "cells": np.asarray(cells, dtype=np.uint32),
                "kind": "lines" if lines else "polys",
                "normals": None if normals is None else np.asarray(normals, np.float32).ravel(),
                "rgb": None if rgb is None else np.asarray(rgb, np.uint8).ravel(),
                "colour": list(prop.GetColor()), "opacity": float(prop.GetOpacity())}

    def set_visible(self, layer: str, visible: bool) -> None:
        """Show or hide a layer: predicted, reference, error, atoms, bonds or cell."""
        keys = ("error+", "error-") if layer == "error" else (layer,)
        for key in keys:
            if key in self.actors:
                self.actors[key].SetVisibility(bool(visible))

    def triangles(self, key: str) -> int:
        """Number of cells of a layer's current surface (0 when the level is out of range)."""
        return self.actors[key].mapper.GetInput().GetNumberOfCells() if key in self.actors else 0

    def reset_camera(self) -> None:
        """Isometric view of the whole scene."""
        self.plotter.camera_position = "iso"
        self.plotter.reset_camera()

    def screenshot(self, path=None, window_size=None) -> np.ndarray:
        """RGB image (H, W, 3) of the scene; also written as PNG when ``path`` is given.

        ``window_size``: (width, height) in pixels of this image (default: the scene's window,
        which keeps its size).
        """
        if window_size is None:
            return self.plotter.screenshot(path, return_img=True)
        before = tuple(self.plotter.window_size)
        try:
            return self.plotter.screenshot(path, return_img=True, window_size=window_size)
        finally:
            self.plotter.window_size = before
