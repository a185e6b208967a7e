"""A training run's options (:class:`TrainConfig`) and the files of its run folder.

Apart from :mod:`ddviz.train` (and torch), so that the app's training form is made without
importing torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import SerializeAsAny, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticUseDefault

from ddviz.config import Choices, Config, FieldError, from_dict, load_file, option

CHECKPOINT = "checkpoint.safetensors"
MODEL = "model.safetensors"
HISTORY = "history.json"
HISTORY_CSV = "history.csv"
STATUS = "status.json"
DEFAULT_METHOD = "deep_density"
#: the options only some methods' training reads (probe points, loss, L-BFGS); each method
#: lists those it reads in its ``MethodInfo.train_options`` (:func:`method_options`); the rest
#: are the loop's own, read for every method
METHOD_OPTIONS = ("validation_stride", "points_per_snapshot", "sampling", "focus", "nuclear",
                  "nuclear_sigma", "loss", "optimizer", "lbfgs_history")


def method_names() -> list[str]:
    """The registered methods (:func:`ddviz.methods.methods`, imported on first use)."""
    from ddviz.methods import methods

    return sorted(methods())


def model_config_class(method: str) -> type[Config]:
    """The model configuration class of ``method`` (its ``config`` module's ``ModelConfig``)."""
    from ddviz.methods import method_module

    return method_module(method, "config").ModelConfig


class TrainConfig(Config):
    """Everything a training run needs; stored in every checkpoint and model file.

    Validated on construction and on assignment; ``model`` holds the model configuration of
    ``method`` (a dict given for it is read as that method's ``ModelConfig``).

    Raises
    ------
    ddviz.errors.ConfigError
        An unknown option or an invalid value, naming the field (``model.m1`` for a nested one).
    """

    method: Annotated[str, Choices(method_names)] = option(
        DEFAULT_METHOD, "The learned map to train (a package of ddviz.methods).")
    train: list[str] = option([], "Dataset folders or snapshot files to train on (their 'train' "
                              "split when a manifest.json assigns splits).")
    validation_snapshots: int = option(4, "Training snapshots held out for validation (the "
                                       "last ones of the list).", ge=1)
    validation_stride: int = option(2, "Validate on every n-th grid point along each axis "
                                    "(1 = the full grid).", ge=1)
    steps: int = option(2000, "Optimisation steps.", ge=1)
    snapshots_per_step: int = option(4, "Snapshots drawn per step.", ge=1)
    points_per_snapshot: int = option(2048, "Random probe points per snapshot per step.", ge=1)
    sampling: Literal["uniform", "density", "error"] = option(
        "density", "Where probe points go: 'uniform' in the grid box, 'density' (a share near "
        "the atoms), 'error' (where the model is worst among twice as many candidates).")
    focus: float = option(0.5, "Share of points drawn near atoms ('density') or by error "
                          "('error').", ge=0.0, le=1.0)
    nuclear: float = option(0.0, "Share of probe points drawn around the nuclei, Gaussians of "
                            "width nuclear_sigma (any sampling mode): the region where a "
                            "pseudopotential valence density dips. 0: none.", ge=0.0, le=1.0)
    nuclear_sigma: float = option(0.25, "Width of the near-nucleus probe Gaussians (nuclear).",
                                  unit="bohr", gt=0.0)
    loss: Literal["l1", "mse", "rel_l2"] = option(
        "l1", "Loss on the probe points: mean absolute error (l1; with uniform points the "
        "relative L1 metric up to a constant), mean squared error or relative L2.")
    optimizer: Literal["adam", "lbfgs"] = option(
        "adam", "'adam': a new random batch each step, learning rate lr decaying to lr_final. "
        "'lbfgs': L-BFGS with a strong-Wolfe line search on one fixed batch (the method's "
        "fixed_batch: for Deep Density every grid point of each training snapshot when "
        "points_per_snapshot covers its grid, else points_per_snapshot points drawn once), one "
        "iteration per step, step length 1 (lr and lr_final unused); for a finishing stage "
        "started from an Adam model with 'init'.")
    lbfgs_history: int = option(100, "Curvature pairs L-BFGS keeps (optimizer = 'lbfgs').",
                                ge=1)
    lr: float = option(3e-3, "Initial Adam learning rate.", ge=0.0)
    lr_final: float = option(3e-5, "Learning rate at the last step (exponential decay).",
                             ge=0.0)
    validate_every: int = option(100, "Steps between validations.", ge=1)
    checkpoint_every: int = option(100, "Steps between checkpoints.", ge=1)
    log_every: int = option(10, "Steps between history entries.", ge=1)
    patience: int = option(0, "Stop after this many validations without improvement "
                           "(0 = never stop early).", ge=0)
    seed: int = option(0, "Seed for the initial weights and the training's random draws (the "
                       "snapshots of each step, and what the method samples in them).")
    init: str = option("", "Model file (.safetensors) of the same method whose weights (and "
                       "whatever statistics the file stores with them) start the run "
                       "(fine-tuning, a second learning-rate cycle, a finishing stage); its "
                       "model configuration must equal this run's except for dtype (the "
                       "weights are cast: a float32 model can be refined in float64). Empty: "
                       "fresh weights.")
    threads: int = option(0, "CPU threads torch may use (0 = torch's default: all cores).", ge=0)
    device: Literal["auto", "cpu", "cuda"] = option(
        "auto", "'auto' (CUDA when available), 'cpu' or 'cuda'.")
    model: SerializeAsAny[Config] = option(lambda: model_config_class(DEFAULT_METHOD)(),
                                           "The method's model hyperparameters.")

    @field_validator("model", mode="before")
    @classmethod
    def _method_model(cls, value, info: ValidationInfo):
        if "method" not in info.data:  # the method itself is invalid: that error is reported
            raise PydanticUseDefault()
        model_cls = model_config_class(info.data["method"])
        if isinstance(value, dict):
            return model_cls.model_validate(value)
        if not isinstance(value, model_cls):
            raise ValueError(  # noqa: TRY004  (pydantic reports ValueError, not TypeError)
                f"expected a table of options or a {model_cls.__module__}."
                f"{model_cls.__name__}, got {type(value).__name__}")
        return value

    @model_validator(mode="after")
    def _model_of_method(self) -> TrainConfig:
        model_cls = model_config_class(self.method)
        if not isinstance(self.model, model_cls):  # the method changed, the model did not
            raise FieldError("model", f"method {self.method!r} needs a {model_cls.__name__}, "
                             f"got a {type(self.model).__name__}")
        return self

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a .toml, .yaml or .json configuration; ConfigError naming the file and field."""
        return from_dict(cls, load_file(path), source=path)


def unused_options(method: str) -> tuple[str, ...]:
    """The :class:`TrainConfig` options ``method``'s training ignores (kept at their defaults).

    Parameters
    ----------
    method : str
        A registered method.

    Returns
    -------
    tuple of str
        The names of :data:`METHOD_OPTIONS` the method's ``MethodInfo.train_options`` lacks.

    Raises
    ------
    ddviz.errors.ConfigError
        An unknown method (the message lists the known ones).
    """
    from ddviz.methods import method_info

    used = method_info(method).train_options
    return tuple(name for name in METHOD_OPTIONS if name not in used)


def template(method: str = DEFAULT_METHOD) -> str:
    """A documented TOML training configuration (what ``ddviz train --template`` prints).

    Parameters
    ----------
    method : str
        The method whose ``[model]`` table is shown (default Deep Density).

    Returns
    -------
    str
        Every field of :class:`TrainConfig` that the method reads (not those of
        :func:`unused_options`) and of the method's model configuration, with its default and
        its documentation; it reads back as the defaults' configuration.

    Raises
    ------
    ddviz.errors.ConfigError
        An unknown method (the message lists the known ones).
    """
    from ddviz.config import to_toml

    config = TrainConfig(method=method, model={})  # the method's model defaults
    return (f"# ddviz training configuration for method {method!r}: every field it reads, "
            f"with its default.\n"
            + to_toml(config, documented=True, omit=unused_options(method)))
