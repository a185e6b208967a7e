"""Choosing the inputs.

Structure, model and reference from the configured folders, uploaded, or given directly (notebook);
with the evaluation's progress, message and error below.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, lru_cache
from pathlib import Path

import panel as pn

from ddviz.app.explore.state import NONE, ExploreState
from ddviz.app.settings import AppSettings
from ddviz.app.status import error_alert
from ddviz.errors import DdvizError

STRUCTURE_SUFFIXES = (".xyz", ".extxyz", ".cif", ".vasp", ".poscar", ".cube", ".cub", ".nc",
                      ".chgcar")
DENSITY_SUFFIXES = (".cube", ".cub", ".nc", ".chgcar")
VASP_NAMES = ("CHGCAR",)  # density files listed by name (VASP's have no suffix)
UPLOADS = {"structure": ".xyz,.extxyz,.cif,.vasp,.cube,.nc,.chgcar", "model": ".safetensors",
           "reference": ".cube,.nc,.chgcar"}
WIDTH = 280  # pixels of the inputs column


class InputsPanel(pn.viewable.Viewer):
    """The input choices of an :class:`ExploreState`: lists of files, uploads, objects given.

    Parameters
    ----------
    state : ExploreState
        Its ``structure``, ``model`` and ``reference`` options are set here.
    settings : AppSettings
        The folders files are listed from and the upload limit.
    folder : callable
        Returns the session's folder of temporary files (uploads are written there).
    """

    def __init__(self, state: ExploreState, settings: AppSettings, folder: Callable[[], Path],
                 **params):
        super().__init__(**params)
        self.state, self.settings, self._folder = state, settings, folder
        self._objects: dict[str, object] = {}  # names -> objects or paths given directly
        # always shown (full when done): a hidden Progress has no element in the browser yet,
        # and a value update from the worker thread arriving then throws there (Panel 1.9)
        self.progress = pn.indicators.Progress(value=state.param.progress, active=state.param.busy,
                                               max=100, width=WIDTH - 40)
        self.alert = error_alert(state.param.error, "ddviz-alert")
        self.refresh()

    def refresh(self) -> None:
        """Re-list structures, references and models (e.g. after training saved a new model).

        With nothing chosen yet, choose the first structure with a reference and, of the models
        whose species cover its elements, one trained the way the structure is (periodic or not)
        with the fewest species, the most specialised (the first model when none covers it).
        """
        s, given = self.settings, list(self._objects)
        structures = list(s.files(STRUCTURE_SUFFIXES, names=VASP_NAMES)) + [
            k for k in given if k.startswith("structure:")]
        references = [NONE] + list(s.files(DENSITY_SUFFIXES, names=VASP_NAMES)) + [
            k for k in given if k.startswith("reference:")]
        methods = {name: model_method(path)
                   for name, path in s.files((".safetensors",), [s.models_dir]).items()}
        models = [n for n, m in methods.items() if m in EXPLORABLE] + [
            k for k in given if k.startswith("model:")]
        self._density_models = [n for n, m in methods.items() if m == "deep_density"]
        p = self.state.param
        p.structure.objects, p.reference.objects, p.model.objects = structures, references, models
        chosen = {}
        if self.state.structure is None and structures:  # prefer one with its own reference
            with_ref = [k for k in structures if k.lower().endswith(DENSITY_SUFFIXES)
                        or any(n in Path(k).name for n in VASP_NAMES)]
            chosen["structure"] = (with_ref or structures)[0]
        if self.state.model is None and models:
            structure = chosen.get("structure", self.state.structure)
            atoms = self._atoms(structure) if structure else None
            chosen["model"] = (atoms is not None and self._best_model(atoms, models)) or models[0]
        p.update(chosen)

    def _best_model(self, atoms, names: list[str]) -> str | None:
        """Of ``names``, the model for ``atoms``; None when no model covers their elements.

        Its species cover theirs; it was trained the way they are (a cell's model for a cell, a
        molecule's for a molecule); it is the most specialised (fewest species: water's model
        before the organic one).
        """
        covering = self._covering(atoms.get_chemical_symbols(), names)
        covering.sort(key=lambda n: (
            model_periodic(self.resolve("model", n)) != bool(any(atoms.pbc)),
            len(model_species(self.resolve("model", n)))))
        return covering[0] if covering else None

    def fit_model(self) -> bool:
        """Choose a model that covers a new structure when the chosen one lacks an element of it.

        The best of the listed models (:meth:`_best_model`).
        A chosen model that covers the structure is kept (the user's choice), and so is one when
        no listed model covers it (the evaluation then says which species are missing).

        Returns
        -------
        bool
            Whether the model was changed (its own change event starts the evaluation).
        """
        state = self.state
        atoms = self._atoms(state.structure) if state.structure else None
        if atoms is None or state.model is None or self._covering(
                atoms.get_chemical_symbols(), [state.model]):
            return False
        best = self._best_model(atoms, list(state.param.model.objects))
        if best is None or best == state.model:
            return False
        state.model = best
        return True

    def _atoms(self, structure: str):
        """The atoms of a listed structure (None when it cannot be read)."""
        from ddviz import io

        try:
            path = self.resolve("structure", structure)
            return io.read_structures(path, check=False)[0]
        except (DdvizError, OSError, ValueError, TypeError):
            return None

    def _covering(self, symbols, names: list[str]) -> list[str]:
        """The models of ``names`` whose species cover ``symbols`` (all of them when empty)."""
        need = set(symbols)
        return [n for n in names if need <= model_species(self.resolve("model", n))]

    def companions(self, symbols) -> list[str]:
        """The listed Deep Density models whose species cover ``symbols`` (chemical symbols)."""
        return self._covering(symbols, self._density_models)

    def offer(self, companions: list[str]) -> None:
        """Offer ``companions`` (and the reference) to compare a Hamiltonian model's density with.

        A chosen model not among them is replaced by the reference.
        """
        from ddviz.app.explore.state import REFERENCE

        self.state.param.compare_with.objects = [REFERENCE, *companions]
        if self.state.compare_with not in companions:
            self.state.compare_with = REFERENCE

    def give(self, kind: str, value) -> None:
        """Choose a listed file by its name, or a path or object given directly (notebook, upload.

        A path given by the programmer may lie outside the data folders). Choosing the current name
        again re-evaluates (an upload may have replaced the file).
        """
        if isinstance(value, str) and value in self.state.param[kind].objects:
            key = value
        else:
            name = Path(value).name if isinstance(value, (str, Path)) else type(value).__name__
            key = f"{kind}:{name}"
            self._objects[key] = Path(value).resolve() if isinstance(value, (str, Path)) else value
            self.refresh()
        if getattr(self.state, kind) == key:
            self.state.param.trigger(kind)
        else:
            setattr(self.state, kind, key)

    def upload(self, kind: str, name: str, data: bytes) -> None:
        """Take an uploaded file (size-limited) as structure, reference or model.

        Raises
        ------
        ddviz.errors.DdvizError
            Above the size limit, or a model that is not a ``.safetensors`` file.
        """
        self.settings.check_upload(name, data)
        if kind == "model" and not name.endswith(".safetensors"):
            raise DdvizError("models load only from .safetensors files", path=name)
        folder = self._folder() / "uploads"
        folder.mkdir(exist_ok=True)
        path = folder / Path(name).name
        path.write_bytes(data)
        self.state.uploads[str(path)] = Path(name).name  # messages name the user's file
        self.give(kind, path)

    def resolve(self, kind: str, key=None):
        """The path (inside the configured folders) or object behind a choice (default.

        The current one); ``None`` for the structure's own reference.

        Raises
        ------
        ddviz.app.settings.PathError
        A name outside the configured folders, or no such file.
        """
        key = getattr(self.state, kind) if key is None else key
        if key == NONE:
            return None
        if key in self._objects:
            return self._objects[key]
        roots = [self.settings.models_dir] if kind == "model" else self.settings.data_dirs
        for root in roots:
            prefix = root.name + "/"
            if key.startswith(prefix):
                return self.settings.safe_path(root / key[len(prefix):], roots)
        return self.settings.safe_path(key, roots)

    def _upload_widget(self, kind: str):
        widget = pn.widgets.FileInput(accept=UPLOADS[kind], multiple=False, width=WIDTH - 40)

        def take(event):
            if widget.value:
                try:
                    self.upload(kind, widget.filename, widget.value)
                except DdvizError as exc:  # refused before it was chosen: the result stays
                    self.state.fail(exc, clear=False)
        widget.param.watch(take, "value")
        return widget

    def __panel__(self):
        return self.layout

    @cached_property
    def layout(self):
        """The choices, uploads, progress, message and error (made once).

        A widget sits in one place only. Everything fits the column's width: the message wraps
        below the progress bar.
        """
        p = self.state.param

        def select(parameter, name):
            return pn.widgets.Select.from_param(parameter, name=name, width=WIDTH - 20,
                                                css_classes=[f"ddviz-{parameter.name}"])

        message = pn.widgets.StaticText.from_param(p.message, name="", width=WIDTH - 20,
                                                   css_classes=["ddviz-message"],
                                                   styles={"white-space": "normal"})
        periodic = pn.widgets.Checkbox.from_param(p.periodic, name="Cube spans its cell (periodic)",
                                                  css_classes=["ddviz-periodic"])
        return pn.Column(
            select(p.structure, "Structure"), self._upload_widget("structure"),
            select(p.model, "Model"), self._upload_widget("model"),
            select(p.reference, "Reference density"), self._upload_widget("reference"), periodic,
            self.progress, message, self.alert, width=WIDTH)


EXPLORABLE = ("deep_density", "hamiltonian")  # methods whose models this tab shows


def model_method(path) -> str | None:
    """The method of a model file (by its header), None for a file no method reads."""
    from ddviz.errors import DdvizError
    from ddviz.methods import method_for_format, model_format

    try:
        return method_for_format(model_format(path)).name
    except DdvizError:
        return None


def model_header(path) -> dict:
    """A model file's header metadata (:func:`ddviz.methods.header_metadata`), read once.

    Cached by resolved path, modification time and size, so a replaced file is read again.

    Parameters
    ----------
    path : str or os.PathLike
        A model file.

    Returns
    -------
    dict
        Metadata key -> value, shared between callers (do not modify); empty when the file is
        missing or its header unreadable.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return {}
    return _read_header(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=128)
def _read_header(path: str, mtime_ns: int, size: int) -> dict:
    """The header of ``path`` as it was at ``mtime_ns`` and ``size`` ({} when unreadable)."""
    from ddviz.methods import header_metadata

    try:
        return header_metadata(path)
    except DdvizError:
        return {}


def model_periodic(path) -> bool:
    """Whether a model file says it was trained on periodic snapshots (False when it says not)."""
    from ddviz.io import safe_json

    try:
        user = model_header(path).get("user") or "{}"
        user = safe_json.loads(user) if isinstance(user, str) else user
        training = user.get("training") if isinstance(user, dict) else None
        return bool(isinstance(training, dict) and training.get("periodic") is True)
    except (ValueError, safe_json.JSONError):
        return False


def model_species(path) -> set[str]:
    """The chemical symbols a model file's header lists (empty when it lists none)."""
    import json

    try:
        species = model_header(path).get("species") or "[]"
        return set(json.loads(species) if isinstance(species, str) else species)
    except (TypeError, ValueError):
        return set()
