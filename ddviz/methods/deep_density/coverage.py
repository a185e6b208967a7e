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
  ``1 - PAIR_TOLERANCE`` of it, or a pair of species never seen within the cutoff, is flagged;
- per pair of species, the fewest and most neighbours of the one around an atom of the other,
  each neighbour counted with the descriptor's switch u(r) (1 up to rcut_smooth, 0 at rcut: how
  much of it the model sees); an atom seeing fewer than ``COUNT_FRACTION`` of the fewest in
  training is flagged.

The neighbour count closes the box's blind spot. Every descriptor entry is a sum over pairs of
neighbours of products of their switched weights, so an atom with fewer or farther neighbours
moves towards D = 0, and an atom alone *is* D = 0. The [min, max] box holds that origin, or comes
within the tolerance of it, whenever the training atoms' neighbours sit in the switch's tail,
where a small displacement changes an entry by a large factor: the aluminium model's 32-atom fcc
cells at 300 K (first shell at 5.4 bohr, rcut_smooth 3, rcut 6) have entries varying 8-fold
between atoms, each entry's range wider than its mean; the zero vector is 0.27 ranges outside
the box, so an fcc cell expanded to a = 5.0 Å (no neighbour within the cutoff) and an Al13
icosahedron in vacuum (surface atoms 0.25 ranges out) passed unwarned. Their switched counts,
0.00 and 0.10 Al against the training's fewest 0.49, are flagged; the held-out al32 cells
(0.51) and the 108-atom cells (0.41, 0.84 of the fewest) are not. Only the low side is checked:
larger neighbourhoods move entries beyond their maxima, which the box sees (ethane's model on
n-butane), while water8's model on the water16/32 clusters, silent by design, sees up to 1.9
times the training's most O neighbours of an O.

The record is small JSON (two rows of M1 * M2 numbers per species) stored with the model's
training metadata (``user.coverage``), computed from the training snapshots when the model file is
written. Models written before it carry none and are not checked. The neighbour counts
(``neighbours_min``, ``neighbours_max``) are optional fields of the same record version: earlier
records lack them and are checked without them, and earlier ddviz versions read the new records
(ignoring the counts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ddviz.errors import DdvizError
from ddviz.methods.deep_density.descriptor import switch
from ddviz.methods.deep_density.model import DeepDensity, Environment
from ddviz.neighbors import image_vectors

# Flag a descriptor entry more than TOLERANCE training ranges beyond [min, max], and a pair more
# than PAIR_TOLERANCE (a fraction) shorter than the shortest in training. Measured on the shipped
# models (python benchmarks/coverage_margins.py): their held-out test snapshots reach at most
# 0.51 ranges (water8's), water8's transfer to water16/32 1.12 (an inner O of a water32 cluster;
# no warning); ethane's model on n-butane or isobutane 12.9 and 25.6, n-butane's on isobutane
# 1.46 (warned). The fine-tuned water model moved its held-out and water32 atoms from the 0.3 ranges
# first measured to 0.51 and 1.12, hence 1.25 rather than 0.5.
TOLERANCE = 1.25
PAIR_TOLERANCE = 0.1
# Flag an atom seeing fewer than COUNT_FRACTION of the fewest switched neighbours (of one species)
# of any training atom of its species; measured in the module docstring.
COUNT_FRACTION = 0.5
VERSION = 1


@dataclass(frozen=True)
class Outlier:
    """An atom outside the training data: its index, element and why.

    Attributes
    ----------
    index : int
        The atom's index (0-based; :func:`describe` numbers atoms from 1, as in files).
    symbol : str
        Its element.
    kind : str
        Why: ``"unseen pair"`` (a neighbour of an element never seen within the cutoff of this
        element in training), ``"close pair"`` (a neighbour closer than any in training),
        ``"few neighbours"`` (fewer switched neighbours of ``other`` than any training atom),
        ``"new element"`` (no training atoms of its element) or ``"environment"`` (a
        descriptor entry beyond the training range).
    other : str
        The neighbour's element (pairs and counts); ``""`` otherwise.
    value : float
        The atom's distance to that neighbour (bohr), its switched count of ``other``
        neighbours, or its descriptor excess (training ranges); NaN for a new element.
    bound : float
        Training's closest such pair (bohr), fewest such neighbours, or the tolerance (ranges);
        NaN for an unseen pair or a new element.
    """

    index: int
    symbol: str
    kind: str
    other: str = ""
    value: float = float("nan")
    bound: float = float("nan")

    @property
    def reason(self) -> str:
        """Why, as one phrase about this atom alone."""
        return _phrase(self.kind, self.symbol, self.other, f"{self.value:.2f}", self.bound, 1)


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


def neighbour_counts(model: DeepDensity, env: Environment, pairs=None) -> np.ndarray:
    """Per atom and neighbour species, the neighbours within the cutoff weighted by the switch.

    Parameters
    ----------
    model : DeepDensity
        The model (its ``rcut_smooth`` and ``rcut``).
    env : Environment
        The structure, from :meth:`DeepDensity.prepare`.
    pairs : tuple of numpy.ndarray, optional
        ``(i, j, distance)`` of :func:`_pair_distances`, when already computed.

    Returns
    -------
    (N, S) numpy.ndarray
        ``n[i, b] = sum_j u(r_ij)`` over the neighbours j of species b (S the model's species),
        u the descriptor's switch (:func:`~ddviz.methods.deep_density.descriptor.switch`):
        a neighbour within rcut_smooth counts 1, one at rcut 0.
    """
    i, j, dist = _pair_distances(env) if pairs is None else pairs
    weight = switch(torch.from_numpy(dist), model.config.rcut_smooth, model.config.rcut).numpy()
    kinds = env.species.cpu().numpy()
    counts = np.zeros((len(kinds), len(model.config.species)))
    np.add.at(counts, (i, kinds[j]), weight)
    return counts


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
    count_low, count_high : (S, S) numpy.ndarray or None
        ``[a, b]``: the fewest and most neighbours of species b around a training atom of
        species a, counted as :func:`neighbour_counts`; NaN for a species without training
        atoms; None for a record written before the counts (not checked).
    """

    species: list[str]
    low: np.ndarray
    high: np.ndarray
    pair_min: np.ndarray
    atoms: np.ndarray
    count_low: np.ndarray | None = None
    count_high: np.ndarray | None = None

    @classmethod
    @torch.no_grad()
    def fit(cls, model: DeepDensity, environments) -> Coverage:
        """The coverage of the structures ``environments`` (iterable of :class:`Environment`)."""
        nspecies = len(model.config.species)
        rows: list[list[np.ndarray]] = [[] for _ in range(nspecies)]
        count_rows: list[list[np.ndarray]] = [[] for _ in range(nspecies)]
        pair_min = np.full((nspecies, nspecies), np.inf)
        for env in environments:
            desc = atom_descriptors(model, model.refresh(env)).double().cpu().numpy()
            kinds = env.species.cpu().numpy()
            pairs = _pair_distances(env)
            counts = neighbour_counts(model, env, pairs)
            for k in range(nspecies):
                rows[k].append(desc[kinds == k])
                count_rows[k].append(counts[kinds == k])
            i, j, dist = pairs
            np.minimum.at(pair_min, (kinds[i], kinds[j]), dist)

        def extremes(per_species, width):
            stacked = [np.concatenate(r) if r else np.zeros((0, width)) for r in per_species]
            low = np.array([s.min(0) if len(s) else np.full(width, np.nan) for s in stacked])
            high = np.array([s.max(0) if len(s) else np.full(width, np.nan) for s in stacked])
            return low, high, np.array([len(s) for s in stacked])

        low, high, atoms = extremes(rows, model.config.m1 * model.config.m2)
        count_low, count_high, _ = extremes(count_rows, nspecies)
        return cls(list(model.config.species), low, high, pair_min, atoms, count_low, count_high)

    def to_dict(self) -> dict:
        """A JSON-serialisable form (``version``, ``species``, ``low``, ``high``, ...)."""
        def plain(a):
            return [[None if not np.isfinite(v) else float(v) for v in row] for row in a]

        record = {"version": VERSION, "species": self.species, "low": plain(self.low),
                  "high": plain(self.high), "pair_min_bohr": plain(self.pair_min),
                  "atoms": [int(n) for n in self.atoms]}
        if self.count_low is not None:
            record.update(neighbours_min=plain(self.count_low),
                          neighbours_max=plain(self.count_high))
        return record

    @classmethod
    def from_dict(cls, data: dict, model: DeepDensity) -> Coverage:
        """The record stored with ``model``; missing values (null) become NaN or inf.

        A record without ``neighbours_min`` and ``neighbours_max`` (written before them) gives
        ``count_low`` and ``count_high`` None.

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
            counts = ((None, None) if "neighbours_min" not in data else
                      (array("neighbours_min", (nspecies, nspecies), np.nan),
                       array("neighbours_max", (nspecies, nspecies), np.nan)))
            return cls(list(data["species"]), array("low", (nspecies, width), np.nan),
                       array("high", (nspecies, width), np.nan),
                       array("pair_min_bohr", (nspecies, nspecies), np.inf), atoms, *counts)
        except (KeyError, TypeError, ValueError) as exc:
            raise DdvizError(f"the model's coverage record is not usable ({exc})") from None

    @torch.no_grad()
    def margins(self, model: DeepDensity, env: Environment) -> Margins:
        """How far each atom of ``env`` lies from the training atoms of its element.

        Parameters
        ----------
        model : DeepDensity
            The model (its embedding nets give the descriptors).
        env : Environment
            The structure, from :meth:`DeepDensity.prepare`.

        Returns
        -------
        Margins
            Per atom; what :meth:`outliers` compares with its tolerances.
        """
        env = model.refresh(env)
        desc = atom_descriptors(model, env).double().cpu().numpy()
        kinds = env.species.cpu().numpy()
        pairs = _pair_distances(env)
        span = np.maximum(np.nan_to_num(self.high - self.low, nan=0.0), 1e-12)[kinds]
        excess = np.maximum(self.low[kinds] - desc, desc - self.high[kinds]) / span
        fraction = np.full(len(kinds), np.inf)
        fewest_species = np.full(len(kinds), -1)
        counts = np.zeros((len(kinds), len(self.species)))
        if self.count_low is not None:
            counts = neighbour_counts(model, env, pairs)
            fewest = np.nan_to_num(self.count_low, nan=0.0)[kinds]  # (N, S)
            ratio = np.where(fewest > 0, counts / np.where(fewest > 0, fewest, 1.0), np.inf)
            fewest_species = ratio.argmin(axis=1)
            fraction = ratio.min(axis=1)
        return Margins(kinds, pairs, np.nan_to_num(excess, nan=0.0).max(axis=1), fraction,
                       fewest_species, counts)

    def outliers(self, model: DeepDensity, env: Environment,
                 tolerance: float = TOLERANCE) -> list[Outlier]:
        """The atoms of ``env`` outside the training range, one :class:`Outlier` each.

        An atom is outside when it has a pair of elements never seen within the cutoff or over
        ``PAIR_TOLERANCE`` shorter than any in training; else when it sees fewer than
        ``COUNT_FRACTION`` of the fewest neighbours (of one element) of any training atom of its
        element; else when a descriptor entry lies over ``tolerance`` training ranges outside
        the training [min, max]; or when its element had no training atoms.

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

        m = self.margins(model, env)
        kinds, numbers = m.kinds, env.numbers.cpu().numpy()
        found: dict[int, tuple] = {}  # atom -> (kind, other, value, bound)
        for a, b, d in zip(*m.pairs):
            if a in found:
                continue
            seen = self.pair_min[kinds[a], kinds[b]]
            other = chemical_symbols[numbers[b]]
            if not np.isfinite(seen):
                found[a] = ("unseen pair", other, d, np.nan)
            elif d < (1 - PAIR_TOLERANCE) * seen:
                found[a] = ("close pair", other, d, seen)
        for a, k in enumerate(kinds):
            if a in found:
                continue
            b = m.fewest_species[a]
            if not np.isfinite(self.low[k]).any():
                found[a] = ("new element", "", np.nan, np.nan)
            elif m.neighbour_fraction[a] < COUNT_FRACTION:
                found[a] = ("few neighbours", self.species[b], m.counts[a, b],
                            self.count_low[k, b])
            elif m.excess[a] > tolerance:
                found[a] = ("environment", "", m.excess[a], tolerance)
        return [Outlier(int(a), chemical_symbols[numbers[a]], kind, other, float(value),
                        float(bound))
                for a, (kind, other, value, bound) in sorted(found.items())]


@dataclass(frozen=True)
class Margins:
    """Per atom, how far it lies from the training atoms (:meth:`Coverage.margins`).

    Attributes
    ----------
    kinds : (N,) numpy.ndarray of int
        The atoms' species indices.
    pairs : tuple of numpy.ndarray
        ``(i, j, distance in bohr)`` of the atom pairs within the cutoff.
    excess : (N,) numpy.ndarray
        The largest excess of a descriptor entry beyond its training [min, max], in training
        ranges (<= 0 inside).
    neighbour_fraction : (N,) numpy.ndarray
        The smallest ratio, over neighbour species, of the atom's switched neighbour count to
        the fewest of any training atom of its species; inf where training's fewest are 0 or
        the record has no counts.
    fewest_species : (N,) numpy.ndarray of int
        The neighbour species of that smallest ratio (-1 without counts).
    counts : (N, S) numpy.ndarray
        The switched neighbour counts (:func:`neighbour_counts`; zeros without counts).
    """

    kinds: np.ndarray
    pairs: tuple
    excess: np.ndarray
    neighbour_fraction: np.ndarray
    fewest_species: np.ndarray
    counts: np.ndarray


def _phrase(kind: str, symbol: str, other: str, values: str, bound: float, n: int) -> str:
    """Why ``n`` atoms of ``symbol`` are outliers of ``kind``; ``values`` their value(s), formatted."""
    one = n == 1
    if kind == "unseen pair":
        return (f"{'is' if one else 'are'} {values} bohr from {other}, and training had no "
                f"{symbol}-{other} pair within the cutoff")
    if kind == "close pair":
        return (f"{'is' if one else 'are'} {values} bohr from {other}, closer than any "
                f"{symbol}-{other} pair in training ({bound:.2f} bohr)")
    if kind == "few neighbours":
        if values in ("0.00", "0.00-0.00"):
            return (f"{'has' if one else 'have'} no {other} neighbour within the cutoff "
                    f"(switched count {values}; the fewest in training {bound:.2f})")
        return (f"{'sees' if one else 'see'} fewer {other} neighbours than any training atom: "
                f"{values} against the fewest {bound:.2f}")
    if kind == "new element":
        return f"had no atoms of {'its' if one else 'their'} element in training"
    return (f"{'lies' if one else 'lie'} {values} training ranges outside the environments of "
            "the training atoms")


def _numbers(indices: list[int], limit: int = 8) -> str:
    """``"1-4, 7, 9"``: sorted 0-based indices as 1-based numbers, the first ``limit`` runs."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    names = []
    for first, last in runs[:limit]:
        if last - first >= 2:
            names.append(f"{first + 1}-{last + 1}")
        else:
            names.extend(str(i + 1) for i in range(first, last + 1))
    return ", ".join(names) + (f", ... ({len(indices)} in all)" if len(runs) > limit else "")


def describe(outliers: list[Outlier], limit: int = 3) -> str:
    """One line on ``outliers``: atoms grouped by element and kind of reason, the first ``limit`` groups.

    Atoms are numbered from 1, as in structure files; the atoms of a group share their element,
    kind of reason (:attr:`Outlier.kind`) and neighbour element, and the line gives the range of
    their values, e.g. ``atoms 1-4 (Al) see fewer Al neighbours than any training atom (...):
    0.00-0.12 against the fewest 0.49``.

    Parameters
    ----------
    outliers : list of Outlier
        From :meth:`Coverage.outliers` (non-empty).
    limit : int
        Groups named; the rest are counted.

    Returns
    -------
    str
        The line, without a trailing full stop.
    """
    groups: dict[tuple, list[Outlier]] = {}
    for o in outliers:
        groups.setdefault((o.kind, o.symbol, o.other), []).append(o)
    parts = []
    for (kind, symbol, other), members in list(groups.items())[:limit]:
        values = [o.value for o in members]
        low, high = f"{min(values):.2f}", f"{max(values):.2f}"
        span = low if low == high else f"{low}-{high}"
        atoms = "atom" if len(members) == 1 else "atoms"
        parts.append(f"{atoms} {_numbers([o.index for o in members])} ({symbol}) "
                     + _phrase(kind, symbol, other, span, members[0].bound, len(members)))
    rest = sum(len(m) for m in list(groups.values())[limit:])
    more = f"; and {rest} more atom{'s' if rest > 1 else ''}" if rest else ""
    n = len(outliers)
    counted = any(kind == "few neighbours" for kind, _, _ in groups)
    return (f"{n} atom{'s' if n > 1 else ''} outside the model's training data (atoms numbered "
            "from 1, as in the input file): " + "; ".join(parts) + more
            + (" (neighbours within the cutoff, each weighted by the descriptor's switch)"
               if counted else ""))


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
