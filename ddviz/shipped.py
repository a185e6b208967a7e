"""Where the shipped example structures and models are, installed or in a checkout.

In a source checkout (and an editable install) they are the repository's ``examples/`` and
``models/`` folders; an installed wheel carries copies in ``ddviz/_shipped/`` (made at build
time by setup.py).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
NAMES = ("examples", "models")


def checkout_root() -> Path | None:
    """The repository root when this package runs from a source checkout, else None."""
    root = PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "ddviz").is_dir() else None


def shipped_dir(name: str) -> Path:
    """The folder of the shipped ``examples`` or ``models``.

    Parameters
    ----------
    name : {"examples", "models"}
        Which.

    Returns
    -------
    pathlib.Path
        ``ROOT/name`` in a checkout, else the installed package's ``_shipped/name``.

    Raises
    ------
    ValueError
        An unknown ``name``.
    """
    if name not in NAMES:
        raise ValueError(f"unknown shipped folder {name!r}; known: {', '.join(NAMES)}")
    root = checkout_root()
    if root is not None and (root / name).is_dir():
        return root / name
    return PACKAGE / "_shipped" / name


def find(path, model: bool = False) -> str:
    """The file a command-line path names, falling back to the shipped copy.

    A path that exists is returned as given. Otherwise ``models/NAME`` and ``examples/NAME``
    (relative, as the README writes them) name the shipped file when there is one, so the
    README's commands work from any folder with an installed ddviz; with ``model``, a bare
    name (``water`` or ``water.safetensors``) names ``./water.safetensors``, then
    ``./models/water.safetensors``, then the shipped model, the first that exists.

    Parameters
    ----------
    path : str or os.PathLike
        As the user typed it.
    model : bool
        Whether the path names a model file (bare names allowed; a bare ``NAME.safetensors``
        always is).

    Returns
    -------
    str
        The path to use: the shipped file's, or ``path`` unchanged (whose error, if it does not
        exist, is then the reader's "no such file").
    """
    given = Path(path)
    if given.exists() or given.is_absolute():
        return str(path)
    parts = given.parts
    candidates = []
    if len(parts) == 2 and parts[0] in NAMES:
        candidates.append(shipped_dir(parts[0]) / parts[1])
    elif len(parts) == 1 and (model or given.suffix == ".safetensors"):
        names = [given.name] if given.suffix == ".safetensors" else [
            given.name, f"{given.name}.safetensors"]
        # the user's own first: ./NAME.safetensors, ./models/NAME..., then the shipped model
        candidates += [Path(n) for n in names[1:]]
        candidates += [Path("models") / n for n in names]
        candidates += [shipped_dir("models") / n for n in names]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)  # relative where the user's own: messages show it as typed
    return str(path)


def missing_model_hint(path) -> str:
    """What a missing model path could have named: '' unless ``path`` is a bare name.

    Parameters
    ----------
    path : str or os.PathLike
        The model path as given.

    Returns
    -------
    str
        E.g. `` (a bare name is looked for as ./NAME, ./NAME.safetensors, ./models/NAME...,
        then among the shipped models: aluminium, ethane, ...)``.
    """
    given = Path(path)
    if len(given.parts) != 1 or given.is_absolute():
        return ""
    shipped = sorted(p.stem for p in shipped_dir("models").glob("*.safetensors"))
    return (" (a bare name is looked for as ./NAME, ./NAME.safetensors, "
            "./models/NAME.safetensors, then among the shipped models: "
            f"{', '.join(shipped) or 'none installed'})")
