"""Born–Oppenheimer MD of 1D chains (velocity Verlet, Hellmann–Feynman forces) and the 1D datasets.

Time in atomic units (hbar / Ha ~ 0.0242 fs), masses in electron masses. The fictitious masses
(Species.mass) put the fastest phonons of every chain at periods of ~600-1300 a.u., so the default
time step of 20 a.u. gives >= 30 steps per period. Mass only rescales time in a microcanonical run
started at rest, so the configurations visited depend on the initial displacements, not on it.

Datasets: ``generate_trajectory`` (8-atom cells) writes snapshots every ``stride`` steps into
``train/`` (t < 40 % of the run), ``validation/`` (40-50 %) and ``test/`` (the last 20 %: the far
future); ``generate_transfer`` runs a short trajectory of a larger (32-atom) cell and writes the
snapshots of its second half into ``transfer/``: cells whose displacements are correlated by the
dynamics, as in the training run (``generate_cells``' independent random displacements spread
the nearest-neighbour spacings wider still; docs/ks1d.md has the figures). All are resumable: files are written
atomically and finished ones skipped; the MD state (positions, velocities, forces, last two
densities) is checkpointed after each snapshot so a resumed trajectory is bit-identical to an
uninterrupted one.
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.optimize

from ddviz import io
from ddviz.errors import ConfigError, DdvizError
from ddviz.io.atomic import atomic_path, write_text_atomic
from ddviz.toys.chain1d.data import is_complete, to_sample
from ddviz.toys.chain1d.solver import (
    CHARACTER_SYMBOL,
    SPECIES,
    Chain,
    ChainSettings,
    solve,
    uniform_chain,
)

LATTICE = 4.0  # bohr between neighbouring atoms
CHARACTERS = ("insulating", "metallic", "mixed")
SPLITS = (("train", 0.0, 0.4), ("validation", 0.4, 0.5), ("test", 0.8, 1.0 + 1e-9))
TRANSFER_SPLITS = (("transfer", 0.5 + 1e-9, 1.0 + 1e-9),)  # the second half of a run


def chain_symbols(character: str, natoms: int) -> list[str]:
    """Species per site: all Ne, all Li, or mixed = one Ne per four sites (Ne Li Li Li ...)."""
    if character in CHARACTER_SYMBOL:
        return [CHARACTER_SYMBOL[character]] * natoms
    if character == "mixed":
        if natoms % 4:
            raise DdvizError(f"a mixed chain needs a multiple of 4 atoms, got {natoms}")
        return ["Ne" if i % 4 == 0 else "Li" for i in range(natoms)]
    raise DdvizError(f"unknown character {character!r}; expected one of {', '.join(CHARACTERS)}")


@functools.lru_cache(maxsize=8)
def _relaxed_primitive(character: str, nk: int) -> tuple[float, ...]:
    symbols = chain_symbols(character, 4)
    chain = uniform_chain(symbols, LATTICE)
    settings = ChainSettings(nk=nk, tol=1e-9)
    cache = {}

    def energy_and_gradient(x):
        pos = np.concatenate([[chain.positions[0]], x])  # atom 0 fixed (no drift)
        res = solve(chain.moved(pos), settings, density=cache.get("n"))
        cache["n"] = res.density
        return res.energy, -res.forces[1:]

    opt = scipy.optimize.minimize(energy_and_gradient, chain.positions[1:], jac=True,
                                  method="BFGS", options={"gtol": 1e-6})
    return (float(chain.positions[0]), *map(float, opt.x))


def equilibrium_chain(character: str, natoms: int) -> Chain:
    """The relaxed chain of ``natoms`` atoms of a character.

    Uniform for one species; for 'mixed' the 4-atom primitive cell relaxed with the same k-point
    density as an 8-atom cell with nk=4, then tiled.
    """
    chain = uniform_chain(chain_symbols(character, natoms), LATTICE)
    if character != "mixed":
        return chain
    prim = np.array(_relaxed_primitive(character, 8))
    tiled = (prim[None, :] + 4 * LATTICE * np.arange(natoms // 4)[:, None]).reshape(-1)
    return chain.moved(tiled)


def displaced_chain(character: str, natoms: int, amplitude: float, seed: int) -> Chain:
    """Equilibrium chain plus random Gaussian displacements, their mean removed.

    Parameters
    ----------
    character : str
        One of ``CHARACTERS``.
    natoms : int
        Atoms in the cell (LATTICE bohr mean spacing).
    amplitude : float, bohr
        Standard deviation of the displacements.
    seed : int
        Random seed.

    Returns
    -------
    Chain
        The displaced chain.
    """
    chain = equilibrium_chain(character, natoms)
    d = np.random.default_rng(seed).normal(0.0, amplitude, natoms)
    return chain.moved(chain.positions + d - d.mean())


def default_settings(natoms: int) -> ChainSettings:
    """Nk = 4 k-points for an 8-atom cell, Gamma for 32: the same Brillouin-zone sampling."""
    return ChainSettings(nk=max(1, 32 // natoms))


@dataclass
class MDState:
    """Everything velocity Verlet needs to continue a run.

    Step, positions (bohr), velocities (bohr per atomic time unit), forces (Ha/bohr), the current
    and previous densities (for density extrapolation), and the energy log.
    """

    step: int
    positions: np.ndarray
    velocities: np.ndarray
    forces: np.ndarray
    density: np.ndarray
    previous_density: np.ndarray
    log: np.ndarray  # rows: step, time, potential, kinetic, total, scf iterations

    def save(self, path) -> None:
        """Write the state as .npz (atomically) to ``path``."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, step=self.step, positions=self.positions, velocities=self.velocities,
                     forces=self.forces, density=self.density,
                     previous_density=self.previous_density, log=self.log)

    @classmethod
    def load(cls, path) -> MDState:
        """Read a state written by :meth:`save` (no pickles)."""
        with np.load(path, allow_pickle=False) as z:
            return cls(int(z["step"]), z["positions"], z["velocities"], z["forces"], z["density"],
                       z["previous_density"], z["log"])


def verlet(chain: Chain, settings: ChainSettings, dt: float, steps: int, state: MDState | None = None,
           on_step=None) -> MDState:
    """Velocity Verlet from ``state`` (or from ``chain`` at rest) until ``state.step == steps``.

    ``on_step(state, result)`` is called after each completed step (and for step 0).
    """
    masses = np.array([SPECIES[s].mass for s in chain.symbols])
    if state is None:
        res = solve(chain, settings)
        log = np.array([[0, 0.0, res.energy, 0.0, res.energy, res.iterations]])
        state = MDState(0, chain.positions.copy(), np.zeros_like(masses), res.forces,
                        res.density, res.density, log)
        if on_step:
            on_step(state, res)
    while state.step < steps:
        v_half = state.velocities + 0.5 * dt * state.forces / masses
        pos = state.positions + dt * v_half
        guess = np.maximum(2 * state.density - state.previous_density, 1e-8)
        res = solve(chain.moved(pos), settings, density=guess)
        vel = v_half + 0.5 * dt * res.forces / masses
        kin = 0.5 * float(np.sum(masses * vel**2))
        step = state.step + 1
        row = [step, step * dt, res.energy, kin, res.energy + kin, res.iterations]
        state = MDState(step, pos, vel, res.forces, res.density, state.density,
                        np.vstack([state.log, row]))
        if on_step:
            on_step(state, res)
    return state


def split_of(step: int, steps: int, splits=SPLITS) -> str | None:
    """Which split a snapshot at ``step`` of a ``steps``-long run belongs to (None: not saved)."""
    frac = step / steps
    for name, lo, hi in splits:
        if lo <= frac < hi:
            return name
    return None


def _progress(total: int, initial: int, desc: str, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, disable=not show, unit="step",
                dynamic_ncols=True)


def _check_counts(minimum: int = 1, **values) -> None:
    """Raise ConfigError naming the first value that is not an integer >= ``minimum``."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}",
                              field=name)


def generate_trajectory(outdir, character: str, natoms: int = 8, steps: int = 400,
                        stride: int = 4, seed: int = 0, amplitude: float = 0.2, dt: float = 20.0,
                        settings: ChainSettings | None = None, progress: bool = False,
                        stop_after: int | None = None, splits=SPLITS) -> dict:
    """Run (or resume) one trajectory and write its snapshots; returns a summary dict.

    splits: (name, start, end) fractions of the run whose snapshots go to folder ``name``.
    stop_after: stop after that many MD steps in this call (to test resuming).
    """
    _check_counts(natoms=natoms, steps=steps, stride=stride)
    outdir = Path(outdir)
    settings = settings or default_settings(natoms)
    chain = displaced_chain(character, natoms, amplitude, seed)
    ckpt = outdir / "state.npz"
    meta = {"character": character, "natoms": natoms, "steps": steps, "stride": stride,
            "seed": seed, "amplitude_bohr": amplitude, "dt_au": dt, "splits": splits}
    meta_path = outdir / "run.json"
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        if old != json.loads(json.dumps(meta)):
            raise DdvizError(f"{outdir} holds a different run ({old}); use another directory",
                             path=meta_path)
    else:
        write_text_atomic(meta_path, json.dumps(meta, indent=1))
    state = MDState.load(ckpt) if ckpt.exists() else None
    written, skipped = [0], [0]

    def on_step(st: MDState, res):
        bar.update(1 if st.step else 0)
        if st.step % stride:
            return
        split = split_of(st.step, steps, splits)
        if split is not None:
            path = outdir / split / f"step_{st.step:06d}.nc"
            if is_complete(path):
                skipped[0] += 1
            else:
                prov = dict(meta, step=st.step, time_au=st.step * dt, split=split,
                            velocities_bohr_per_au=[float(v) for v in st.velocities],
                            band_gap_Ha=res.band_gap())
                io.write(to_sample(res, prov), path)
                written[0] += 1
        st.save(ckpt)
        write_thermo(outdir / "thermo.csv", st.log)

    target = steps if stop_after is None else min(steps, (state.step if state else 0) + stop_after)
    with _progress(steps, state.step if state else 0, f"{character} {natoms}", progress) as bar:
        state = verlet(chain, settings, dt, target, state, on_step)
    return {"dir": str(outdir), "step": state.step, "written": written[0], "skipped": skipped[0],
            "energy_drift_Ha": energy_drift(state.log), "mean_scf_iterations":
            float(state.log[1:, 5].mean()) if len(state.log) > 1 else float(state.log[0, 5])}


def write_thermo(path, log: np.ndarray) -> None:
    """step, time (a.u.), potential, kinetic, total energy (Ha), SCF iterations as CSV."""
    head = "step,time_au,potential_Ha,kinetic_Ha,total_Ha,scf_iterations\n"
    rows = "".join(f"{int(r[0])},{r[1]:.1f},{r[2]:.12f},{r[3]:.12f},{r[4]:.12f},{int(r[5])}\n"
                   for r in log)
    write_text_atomic(path, head + rows)


def energy_drift(log: np.ndarray) -> float:
    """Max |E_total(t) - E_total(0)| (Ha) over the run."""
    return float(np.max(np.abs(log[:, 4] - log[0, 4])))


def generate_cells(outdir, character: str, natoms: int = 32, count: int = 6, seed: int = 0,
                   amplitude: float = 0.2 / math.sqrt(2), settings: ChainSettings | None = None,
                   progress: bool = False) -> dict:
    """Independent randomly displaced cells, written into ``outdir/transfer/``.

    The default std, 0.2/sqrt2 bohr, is the time-averaged displacement of an MD run started at
    rest from 0.2 bohr.
    """
    _check_counts(natoms=natoms)
    _check_counts(0, count=count)
    outdir = Path(outdir)
    settings = settings or default_settings(natoms)
    written = skipped = 0
    from tqdm import tqdm

    for i in tqdm(range(count), desc=f"{character} {natoms} cells", disable=not progress):
        path = outdir / "transfer" / f"cell_{i:04d}.nc"
        if is_complete(path):
            skipped += 1
            continue
        cell_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        res = solve(displaced_chain(character, natoms, amplitude, cell_seed), settings)
        prov = {"character": character, "natoms": natoms, "seed": seed, "cell_index": i,
                "cell_seed": cell_seed, "amplitude_bohr": amplitude, "split": "transfer",
                "band_gap_Ha": res.band_gap()}
        io.write(to_sample(res, prov), path)
        written += 1
    return {"dir": str(outdir), "written": written, "skipped": skipped}


def generate_transfer(outdir, character: str, natoms: int = 32, count: int = 6, stride: int = 8,
                      seed: int = 0, amplitude: float = 0.2, dt: float = 20.0,
                      settings: ChainSettings | None = None, progress: bool = False) -> dict:
    """Transfer cells from MD, written into ``outdir/transfer/``.

    A ``2 * count * stride``-step trajectory started at rest from random displacements (std
    ``amplitude`` bohr, as the 8-atom runs), whose last ``count`` snapshots (``stride`` steps
    apart, the second half of the run: at least ~one phonon period in) are kept. Resumable like
    :func:`generate_trajectory`.
    """
    return generate_trajectory(outdir, character, natoms, 2 * count * stride, stride, seed,
                               amplitude, dt, settings, progress, splits=TRANSFER_SPLITS)


def generate_dataset(outdir, steps: int = 400, stride: int = 4, cells: int = 6, seed: int = 0,
                     progress: bool = False, characters=CHARACTERS) -> dict:
    """The chain dataset of all three characters (or those listed).

    Per character an 8-atom trajectory (``md8``) and ``cells`` 32-atom transfer cells from a
    short 32-atom trajectory (``md32``); character ``CHARACTERS[i]`` uses seed ``seed + i``
    whichever are listed.
    """
    _check_counts(steps=steps, stride=stride, cells=cells)
    outdir = Path(outdir)
    out = {}
    for character in characters:
        i = CHARACTERS.index(character)
        out[character] = {
            "md8": generate_trajectory(outdir / character / "md8", character, 8, steps, stride,
                                       seed + i, progress=progress),
            "md32": generate_transfer(outdir / character / "md32", character, 32, cells,
                                      seed=seed + i, progress=progress)}
    os.makedirs(outdir, exist_ok=True)
    return out
