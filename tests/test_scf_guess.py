"""SCF warm start from a density: the guess itself, and the SCF from it against minao."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT

MODEL = ROOT / "models" / "ethane.safetensors"
ETHANE = ROOT / "examples" / "ethane.xyz"


@pytest.mark.parametrize("gradient", ["fit", "differences"])
def test_the_exact_density_gives_the_converged_solution_in_one_fock_build(gradient):
    from ase.build import molecule

    from ddviz.evaluate.scf_guess import density_guess
    from ddviz.reference.scf import SCFSettings, _make_rks, build_mol, compute

    atoms, settings = molecule("H2O"), SCFSettings()
    result = compute(atoms, settings)
    mf = _make_rks(build_mol(atoms, settings), settings)
    dm0 = density_guess(mf, result.orbitals.evaluate, gradient)
    assert np.einsum("ij,ji", dm0, mf.get_ovlp()) == pytest.approx(8.0, abs=1e-9)
    # measured: 1.8e-6 Ha (fit), 0.9e-6 Ha (differences) above the converged energy
    assert 0 <= mf.energy_tot(dm0) - result.energy < 2e-5


def test_scf_guess_from_the_shipped_model_reaches_the_same_energy(ddviz_cli):
    proc = ddviz_cli("scf-guess", MODEL, ETHANE, "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert abs(out["energy_diff_ha"]) < 1e-7
    assert out["energy_guess_ha"] == pytest.approx(out["energy_default_ha"], abs=1e-7)
    for key in ("cycles_guess", "cycles_default"):
        assert isinstance(out[key], int) and 1 <= out[key] <= 50
    assert out["cycles_guess"] < out["cycles_default"]  # measured: 5 against 9
    assert out["seconds_guess"] > out["seconds_guess_build"] > 0 and out["seconds_default"] > 0
    # the guess is close: its energy lies above the solution by well under a millihartree
    assert 0 <= out["guess_energy_ha"] - out["energy_guess_ha"] < 1e-2


def test_scf_guess_refuses_an_odd_electron_count(ddviz_cli):
    proc = ddviz_cli("scf-guess", MODEL, ETHANE, "--charge", "1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "13 valence electrons" in proc.stderr and "closed shells" in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
