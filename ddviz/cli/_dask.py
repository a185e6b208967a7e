"""``ddviz predict --dask``: the grid evaluated on a Dask cluster into a zarr store."""

from __future__ import annotations


def run_dask(args) -> int:
    """Predict one frame (``--frame``, or the only one) on a Dask cluster; write ``args.output``.

    Parameters
    ----------
    args : argparse.Namespace
        ``ddviz predict``'s arguments with ``dask`` set ("local" or a scheduler address).

    Returns
    -------
    int
        0.

    Raises
    ------
    DdvizError
        The output is not a ``.zarr`` name, or a multi-frame file without ``--frame``.
    """
    import json
    from pathlib import Path

    from ddviz import io
    from ddviz.cli._checks import check_grid_size, check_periodic_axes, make_parent
    from ddviz.errors import DdvizError
    from ddviz.evaluate.dask_grid import DEFAULT_BLOCK_POINTS, predict_zarr
    from ddviz.evaluate.evaluation import comparison_grid
    from ddviz.methods.deep_density.files import load_model

    output = Path(args.output)
    if output.suffix != ".zarr":
        raise DdvizError("with --dask the output is a zarr store: give a name ending in .zarr",
                         path=output)
    if output.exists() and not (output / ".zgroup").exists() and any(output.iterdir()):
        raise DdvizError("exists and is not a zarr store: refusing to replace it", path=output)
    frames = io.read_structures(args.structure, format=args.format)
    if args.frame is None and len(frames) > 1:
        raise DdvizError(f"the file has {len(frames)} frames: choose one with --frame for "
                         "--dask", path=args.structure)
    index = 0 if args.frame is None else args.frame
    if not -len(frames) <= index < len(frames):
        raise DdvizError(f"no frame {index}: the file has {len(frames)} frame(s)",
                         path=args.structure)
    atoms = frames[index]
    like = (io.read(args.like, format=args.like_format, max_points=args.max_points)
            if args.like else None)
    if like is None:
        check_periodic_axes(atoms, args.structure)
    grid = comparison_grid(atoms, like, args.spacing, args.margin)
    check_grid_size(grid, args.like or args.structure, args.max_points)
    _, meta = load_model(args.model)  # the file checked before any worker starts
    prov = {"predicted_by": Path(args.model).name, "structure": str(args.structure),
            "frame": index % len(frames), "dask": args.dask,
            "model_metadata": json.dumps({k: meta.get(k) for k in ("species", "format_version")})}
    make_parent(output)
    result = predict_zarr(args.model, atoms, grid, output,
                          address=None if args.dask == "local" else args.dask,
                          block_points=args.block_points or DEFAULT_BLOCK_POINTS,
                          device=args.device or "cpu", provenance=prov)
    peak = max(result.peak_rss_bytes.values(), default=0)
    print(f"wrote {output}: {grid.size:,} points ({' x '.join(map(str, grid.shape))}) in "
          f"{result.blocks} blocks on {len(result.peak_rss_bytes)} workers, "
          f"{result.electrons:.3f} electrons, {result.seconds:.2f} s; peak memory per worker "
          f"{peak / 2**20:.0f} MiB; store {result.store_bytes / 2**20:.1f} MiB")
    return 0
