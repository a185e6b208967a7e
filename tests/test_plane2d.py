"""The 2D Kohn–Sham solver (ddviz.toys.plane2d): analytic limits, energy terms recomputed from the
density by independent formulas, convergence failures, bad input. Units: bohr, Ha,
electrons/bohr^2."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
from pyscf.dft import libxc

from ddviz.errors import ConfigError, ConvergenceError, DdvizError
from ddviz.toys.plane2d import potentials
from ddviz.toys.plane2d.solver import (
    FUNCTIONALS,
    Box,
    Settings,
    hartree,
    self_cell_integral,
    solve,
    xc,
)

SMALL = Box(24, 12.0)  # h = 0.5 bohr: small enough for direct O(n^4) sums


def _sho_levels(wx, wy, count):
    levels = sorted(wx * (i + 0.5) + wy * (j + 0.5) for i in range(12) for j in range(12))
    return np.array(levels[:count])


@pytest.mark.parametrize("kx, ky", [(0.25, 0.25), (0.5, 0.2)])
def test_noninteracting_sho_levels(kx, ky):
    """E = omega_x (n_x + 1/2) + omega_y (n_y + 1/2); at 48 x 48 over 16 bohr (h = 1/3 bohr) the
    lowest 10 levels are within 1e-3 relative (4th-order stencil; measured <= 6e-4 for
    omega <= 0.71 Ha, the ground level within 1e-4)."""
    box = Box(48, 16.0)
    v = potentials.sho(box, kx, ky, 8.0, 8.0)
    res = solve(v, 2, box, Settings("none", extra_states=9))
    exact = _sho_levels(math.sqrt(kx), math.sqrt(ky), 10)
    assert np.allclose(res.eigenvalues, exact, rtol=1e-3, atol=0)
    assert res.eigenvalues[0] == pytest.approx(exact[0], rel=1e-4)
    assert res.energies["E_tot"] == pytest.approx(2 * exact[0], rel=1e-4)
    # virial theorem of the oscillator ground state: <T> = <V>
    assert res.energies["E_kin"] == pytest.approx(res.energies["E_ext"], rel=1e-3)


def test_kinetic_stencil_is_fourth_order():
    """Halving h shrinks the ground-level error ~16x (measured 15.4x from 24x24 to 48x48)."""
    errors = []
    for n in (24, 48):
        box = Box(n, 16.0)
        res = solve(potentials.sho(box, 1.0, 1.0, 8.0, 8.0), 2, box, Settings("none"))
        errors.append(abs(res.eigenvalues[0] - 1.0))
    assert errors[0] / errors[1] > 10


def test_self_cell_integral_matches_quadrature():
    h = 0.37
    # one quadrant, times 4 (the integrand is singular only at the corner point itself)
    num, _ = scipy.integrate.dblquad(lambda y, x: 1 / max(math.hypot(x, y), 1e-300), 0, h / 2,
                                     0, h / 2, epsabs=1e-12)
    num *= 4
    assert self_cell_integral(h) == pytest.approx(num, rel=1e-7)
    assert self_cell_integral(h) == pytest.approx(4 * h * math.log(1 + math.sqrt(2)))


def _direct_hartree(rho, box):
    """E_H by the direct pair sum (no FFT): midpoint rule off the diagonal, the analytic cell
    integral on it."""
    x, y = box.mesh()
    pts = np.stack([x.ravel(), y.ravel()], axis=1)
    q = rho.ravel() * box.dA
    d = np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=-1)
    np.fill_diagonal(d, np.inf)
    pair = 0.5 * float(q @ (1 / d) @ q)
    self_term = 0.5 * float(np.sum(rho.ravel() ** 2)) * box.dA * self_cell_integral(box.h)
    return pair + self_term


@pytest.fixture(scope="module")
def lda_state():
    v = potentials.sho(SMALL, 0.4, 0.3, 6.3, 5.8)
    return solve(v, 4, SMALL, Settings("lda", tol=1e-9))


@pytest.fixture(scope="module")
def gga_state():
    v, _ = potentials.draw("random", Box(24, 16.0), 3, 1)
    return solve(v, 6, Box(24, 16.0), Settings("gga", tol=1e-9))


@pytest.mark.parametrize("state", ["lda_state", "gga_state"])
def test_energy_terms_from_density(state, request):
    res = request.getfixturevalue(state)
    box, rho, dA = res.box, res.density, res.box.dA
    assert rho.sum() * dA == pytest.approx(res.electrons, abs=1e-9)
    assert rho.min() >= 0
    e = res.energies
    assert e["E_ext"] == pytest.approx(float(np.sum(res.v_ext * rho)) * dA, abs=1e-10)
    assert e["E_H"] == pytest.approx(_direct_hartree(rho, box), rel=1e-10)
    # exchange and correlation from libxc again; gradient by numpy on the zero-padded density
    x_name, c_name = FUNCTIONALS[res.settings.functional]
    r = np.maximum(rho, 1e-14)
    for name, key in ((x_name, "E_x"), (c_name, "E_c")):
        if libxc.xc_type(name) == "LDA":
            exc = libxc.eval_xc(name, r.ravel(), spin=0, deriv=0)[0]
        else:
            gx, gy = (g[1:-1, 1:-1] for g in np.gradient(np.pad(r, 1), box.h))
            rho4 = np.stack([r.ravel(), gx.ravel(), gy.ravel(), np.zeros(r.size)])
            exc = libxc.eval_xc(name, rho4, spin=0, deriv=0)[0]
        assert e[key] == pytest.approx(float(np.sum(exc * r.ravel())) * dA, rel=1e-9)
        assert e[key] < 0
    assert e["E_tot"] == pytest.approx(sum(e[k] for k in ("E_kin", "E_ext", "E_H", "E_x", "E_c")))


@pytest.mark.parametrize("state", ["lda_state", "gga_state"])
def test_total_energy_is_band_energy_minus_double_counting(state, request):
    """E_tot = 2 sum f eps - int (v_H + v_xc) rho + E_H + E_xc, with E_kin from the orbitals."""
    res = request.getfixturevalue(state)
    box, rho = res.box, res.density
    v_h, e_h = hartree(rho, box)
    v_xc, e_x, e_c = xc(rho, box, res.settings.functional)
    band = 2 * float(np.sum(res.occupations * res.eigenvalues))
    total = band - float(np.sum((v_h + v_xc) * rho)) * box.dA + e_h + e_x + e_c
    assert res.energies["E_tot"] == pytest.approx(total, abs=1e-7)


def test_gga_potential_is_the_energy_derivative():
    box = Box(12, 6.0)
    x, y = box.mesh()
    rho = np.exp(-((x - 3.1) ** 2 + 0.7 * (y - 2.8) ** 2)) + 0.01
    v, _, _ = xc(rho, box, "gga")
    for k in [(5, 6), (2, 9), (6, 3)]:
        eps = 1e-6
        e = []
        for s in (1, -1):
            r = rho.copy()
            r[k] += s * eps
            _, ex, ec = xc(r, box, "gga")
            e.append(ex + ec)
        assert (e[0] - e[1]) / (2 * eps * box.dA) == pytest.approx(v[k], rel=1e-5)


def test_open_shell_rule():
    """Isotropic oscillator: N = 4 half-fills the degenerate (1,0)/(0,1) shell -> smeared, 1/2
    each; N = 2 and N = 6 close their shells -> integer occupations, no -TS."""
    v = potentials.sho(SMALL, 0.5, 0.5, 6.0, 6.0)
    open_ = solve(v, 4, SMALL, Settings("none"))
    assert open_.smeared
    assert open_.occupations[1:3] == pytest.approx([0.5, 0.5], abs=1e-6)
    assert open_.minus_ts < 0
    for n in (2, 6):
        closed = solve(v, n, SMALL, Settings("none"))
        assert not closed.smeared and closed.minus_ts == 0
        assert set(closed.occupations.tolist()) == {0.0, 1.0}
        assert closed.density.sum() * SMALL.dA == pytest.approx(n)


def test_convergence_failure_is_retried_then_raised():
    v = potentials.sho(SMALL, 0.3, 0.3, 6.0, 6.0)
    with pytest.raises(ConvergenceError, match="pulay alpha=0.5 kT=0.001.*pulay alpha=0.3 kT=0.01") as info:
        solve(v, 6, SMALL, Settings("lda", max_iter=2))
    assert isinstance(info.value, DdvizError)
    # a first strategy that cannot converge in time, then a working one
    res = solve(v, 6, SMALL, Settings("lda", max_iter=40),
                strategies=(("linear", 0.01, None), ("pulay", 0.5, None)))
    assert len(res.attempts) == 2 and res.attempts[0][4] > 1e-6 > res.attempts[1][4]


@pytest.mark.parametrize("v, match", [
    (np.zeros((24, 23)), r"shape \(24, 23\); expected \(24, 24\)"),
    (np.where(np.eye(24) > 0, np.nan, 0.0), "non-finite"),
    ("nonsense", "numeric array"),
])
def test_bad_potential(v, match):
    with pytest.raises(DdvizError, match=match):
        solve(v, 2, SMALL)


def test_bad_settings():
    with pytest.raises(DdvizError, match="even integer"):
        solve(np.zeros((24, 24)), 3, SMALL)
    with pytest.raises(ConfigError, match="unknown functional 'pbe'"):
        Settings("pbe")
    with pytest.raises(DdvizError, match="kind"):
        potentials.draw("square", SMALL, 0, 0)


def test_potentials_reproducible_and_seeded():
    box = Box()
    for kind in potentials.KINDS:
        a, pa = potentials.draw(kind, box, 7, 3)
        b, pb = potentials.draw(kind, box, 7, 3)
        c, _ = potentials.draw(kind, box, 8, 3)
        assert np.array_equal(a, b) and pa == pb and not np.allclose(a, c)
    v, params = potentials.draw("random", box, 0, 0)
    assert v.min() == pytest.approx(-params["depth_Ha"])
    edge = np.concatenate([v[0], v[-1], v[:, 0], v[:, -1]])  # wells only blur into the margin
    assert np.abs(edge).max() < 0.25 * params["depth_Ha"]
