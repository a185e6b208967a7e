"""What a Deep Density model has seen: the range of its training atoms' environments.

A model is only as good as its data near the structure it is asked about. Elements it lacks are
refused outright (:meth:`DeepDensity.species_index`); an atom of a known element in an environment
unlike any in training (an N-N bond for a model that saw none, two atoms far closer than ever in
training, a coordination never seen) is predicted without complaint but without warrant. This
module records, per species of the centre atom, what the training atoms looked like, and flags
atoms outside it:

- the atom-only se_a descriptor D_i = (G^T R)(R^T G_<) of every training atom (the electron
  left out: the structure's part of Deep Density's descriptor, invariant to rotation, translation
  and permutation; Zhang et al., NeurIPS 2018), per entry its training minimum and maximum;
  an atom with an entry more than ``TOLERANCE`` training ranges outside [min, max] is flagged;
- per pair of species, the shortest distance seen within the cutoff (bohr); a pair shorter than
  ``1 - PAIR_TOLERANCE`` of it, or a pair of species never seen within the cutoff, is flagged.

The record is small JSON (two rows of M1 * M2 numbers per species) stored with the model's
training metadata (``user.coverage``), computed from the training snapshots when the model file is
written. Models written before it carry none and are not checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ddviz.errors import DdvizError
from ddviz.methods.deep_density.model import DeepDensity, Environment
from ddviz.neighbors import image_vectors

# Flag a descriptor entry more than TOLERANCE training ranges beyond [min, max], and a pair more
# than PAIR_TOLERANCE (a fraction) shorter than the shortest in training. Measured on the shipped
# models: their held-out test snapshots and water8's transfer to water16/32 reach at most 0.3
# ranges (no warning); ethane's model on n-butane or isobutane 1.9-24, n-butane's on isobutane
# 1.2-1.4 (warned).
TOLERANCE = 0.5
PAIR_TOLERANCE = 0.1
VERSION = 1


@dataclass(frozen=True)
class Outlier:
    """An atom outside the training data: its index, element and why (one phrase)."""

    index: int
    symbol: str
    reason: str


def atom_descriptors(model: DeepDensity, env: Environment) -> torch.Tensor:
    """The atom-only se_a descriptor of every atom, (N, M1 * M2), from ``env.sums``.

    Parameters
    ----------
    model : DeepDensity
        The model whose embedding nets made ``env``.
    env : Environment
        From :meth:`DeepDensity.prepare` (with ``sums``, (N, M1, 4)).

    Returns
    -------
    (N, M1 * M2) torch.Tensor
        D_i = S_i S_i[:M2]^T flattened, S_i = env.sums[i].
    """
    sums = env.sums
    m2 = model.config.m2
    return torch.einsum("nak,nbk->nab", sums, sums[:, :m2]).reshape(sums.shape[0], -1)


def _pair_distances(env: Environment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, distance in bohr)`` of every atom pair within the cutoff (each pair both ways)."""
    i, j, shift = env.pairs
    vec = image_vectors(env.positions, env.positions, i, j, shift, env.cell)
    return (i.cpu().numpy(), j.cpu().numpy(),
            torch.linalg.vector_norm(vec, dim=-1).detach().cpu().numpy())


@dataclass
class Coverage:
    """The training range of a model's atom environments (see the module docstring).

    Attributes
    ----------
    species : list of str
        The model's species, in its order.
    low, high : (S, M1 * M2) numpy.ndarray
        Per species, the smallest and largest value of each descriptor entry over the training
        atoms; NaN for a species without training atoms.
    pair_min : (S, S) numpy.ndarray, bohr
        Shortest distance between atoms of two species within the cutoff; inf if never seen.
    atoms : (S,) numpy.ndarray of int
        Training atoms per species.
    """

    species: list[str]
    low: np.ndarray
    high: np.ndarray
    pair_min: np.ndarray
    atoms: np.ndarray

    @classmethod
    @torch.no_grad()
    def fit(cls, model: DeepDensity, environments) -> Coverage:
        """The coverage of the structures ``environments`` (iterable of :class:`Environment`)."""
        nspecies = len(model.config.species)
        rows: list[list[np.ndarray]] = [[] for _ in range(nspecies)]
        pair_min = np.full((nspecies, nspecies), np.inf)
        for env in environments:
            desc = atom_descriptors(model, model.refresh(env)).double().cpu().numpy()
            kinds = env.species.cpu().numpy()
            for k in range(nspecies):
                rows[k].append(desc[kinds == k])
            i, j, dist = _pair_distances(env)
            np.minimum.at(pair_min, (kinds[i], kinds[j]), dist)
        width = model.config.m1 * model.config.m2
        stacked = [np.concatenate(r) if r else np.zeros((0, width)) for r in rows]
        low = np.array([s.min(0) if len(s) else np.full(width, np.nan) for s in stacked])
        high = np.array([s.max(0) if len(s) else np.full(width, np.nan) for s in stacked])
        return cls(list(model.config.species), low, high, pair_min,
                   np.array([len(s) for s in stacked]))

    def to_dict(self) -> dict:
        """A JSON-serialisable form (``version``, ``species``, ``low``, ``high``, ...)."""
        def plain(a):
            return [[None if not np.isfinite(v) else float(v) for v in row] for row in a]

        return {"version": VERSION, "species": self.species, "low": plain(self.low),
                "high": plain(self.high), "pair_min_bohr": plain(self.pair_min),
                "atoms": [int(n) for n in self.atoms]}

    @classmethod
    def from_dict(cls, data: dict, model: DeepDensity) -> Coverage:
        """The record stored with ``model``; missing values (null) become NaN or inf.

        Raises
        ------
        DdvizError
            A record of another version, or shapes that do not fit ``model``.
        """
        try:
            if data["version"] != VERSION or data["species"] != list(model.config.species):
                raise ValueError("another version or other species")
            nspecies, width = len(model.config.species), model.config.m1 * model.config.m2

            def array(key, shape, missing):
                a = np.array([[missing if v is None else float(v) for v in row]
                              for row in data[key]], dtype=float)
                if a.shape != shape:
                    raise ValueError(f"{key} has shape {a.shape}, expected {shape}")
                return a

            atoms = np.array([int(n) for n in data["atoms"]])
            if atoms.shape != (nspecies,):
                raise ValueError("atoms per species")
            return cls(list(data["species"]), array("low", (nspecies, width), np.nan),
                       array("high", (nspecies, width), np.nan),
                       array("pair_min_bohr", (nspecies, nspecies), np.inf), atoms)
        except (KeyError, TypeError, ValueError) as exc:
            raise DdvizError(f"the model's coverage record is not usable ({exc})") from None

    @torch.no_grad()
    def outliers(self, model: DeepDensity, env: Environment,
                 tolerance: float = TOLERANCE) -> list[Outlier]:
        """The atoms of ``env`` outside the training range, one :class:`Outlier` each.

        Parameters
        ----------
        model : DeepDensity
            The model (its embedding nets give the descriptors).
        env : Environment
            The structure, from :meth:`DeepDensity.prepare`.
        tolerance : float
            How far beyond a descriptor entry's training [min, max] an atom may lie, in training
            ranges (max - min).

        Returns
        -------
        list of Outlier
            In atom order; empty when every atom is covered.
        """
        from ase.data import chemical_symbols

        env = model.refresh(env)
        desc = atom_descriptors(model, env).double().cpu().numpy()
        kinds = env.species.cpu().numpy()
        numbers = env.numbers.cpu().numpy()
        reasons: dict[int, str] = {}
        i, j, dist = _pair_distances(env)
        for a, b, d in zip(i, j, dist):
            if a in reasons:
                continue
            seen = self.pair_min[kinds[a], kinds[b]]
            other = chemical_symbols[numbers[b]]
            if not np.isfinite(seen):
                reasons[a] = f"has a {other} neighbour at {d:.2f} bohr; training had no such pair"
            elif d < (1 - PAIR_TOLERANCE) * seen:
                reasons[a] = (f"has a {other} neighbour at {d:.2f} bohr; the closest in training "
                              f"was {seen:.2f} bohr")
        span = np.maximum(np.nan_to_num(self.high - self.low, nan=0.0), 1e-12)
        for a, k in enumerate(kinds):
            if a in reasons:
                continue
            if not np.isfinite(self.low[k]).any():
                reasons[a] = "its element had no atoms in training"
                continue
            excess = np.maximum(self.low[k] - desc[a], desc[a] - self.high[k]) / span[k]
            worst = float(np.nan_to_num(excess, nan=0.0).max())
            if worst > tolerance:
                reasons[a] = (f"has an environment {worst:.1f} training ranges outside those of "
                              "the training atoms")
        return [Outlier(a, chemical_symbols[numbers[a]], reasons[a]) for a in sorted(reasons)]


def describe(outliers: list[Outlier], limit: int = 3) -> str:
    """One line naming the first ``limit`` outliers (1-based atom numbers, as in files)."""
    parts = [f"atom {o.index + 1} ({o.symbol}) {o.reason}" for o in outliers[:limit]]
    more = f"; and {len(outliers) - limit} more" if len(outliers) > limit else ""
    return (f"{len(outliers)} atom(s) outside the model's training data: " + "; ".join(parts)
            + more)


def from_metadata(metadata: dict, model: DeepDensity) -> Coverage | None:
    """The coverage record of a model file's metadata (``user.coverage``); None without one.

    Raises
    ------
    DdvizError
        A record that does not fit ``model``.
    """
    user = metadata.get("user") or {}
    if not isinstance(user, dict):
        raise DdvizError(f"the training metadata is a {type(user).__name__}, not a JSON object")
    record = user.get("coverage")
    return Coverage.from_dict(record, model) if record else None


def check(model: DeepDensity, atoms) -> list[Outlier]:
    """The atoms of ``atoms`` (ase.Atoms, Å) outside ``model.coverage``; [] without a record.

    ``model.coverage`` is set by :func:`ddviz.methods.deep_density.files.load_model`.
    """
    from ddviz.evaluate.predictor import structure_from_atoms

    record = getattr(model, "coverage", None)
    if record is None:
        return []
    return record.outliers(model, model.prepare(*structure_from_atoms(atoms)))
