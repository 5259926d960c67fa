"""The projection result: per-draw trajectories as one labelled xarray Dataset.

Full population by place x sex x age x year x draw would not fit in memory (1,000 draws x
356 places x 28 years x 212 sex-ages is 17 GB), so the result keeps what people read,
per draw (quantiles are taken at the end, aggregates are summed per draw first):

=====================  ===============================================  =================
variable               dims                                             meaning
=====================  ===============================================  =================
population             scenario, draw, place, year                      1 January
age_group_population   scenario, draw, place, year, age_group           0-15, 16-66, 67+, 80+
births, deaths         scenario, draw, place, year                      during ``year``
net_migration          scenario, draw, place, year                      during ``year``
jobs_private           scenario, draw, place, year                      by workplace
jobs_public            scenario, draw, place, year                      by workplace
pyramid_quantiles      scenario, band, pyramid_year, unit,      1 January, 0..105
                       sex, age
pyramid_quantiles_5    ... the same by 5-year age_band                  1 January
pyramid                scenario, draw, pyramid_place, pyramid_year,     chosen places only
                       sex, age                                         (``--pyramids``)
history_population     place, history_year                              observed, to the
                                                                        base year
history_jobs           place, history_year                              observed, all jobs
centrality_coefficient scenario, draw, coefficient_year                 fitted + projected
national_net_immigr.   scenario, draw, year                             realised rate
=====================  ===============================================  =================

Pyramids by single age for every draw of every place would dwarf the rest (2 GB for
1,000 draws), so they are kept as quantiles (``band``: median and the 50/80/95 %
bounds) for every place and every region, county, centrality class and the nation
(``unit``: ``place:0301``, ``county:03``, ``centrality_class:6``, ``nation``),
each group's pyramids summed per draw before the quantiles; per draw only for the places
asked for. The file is compressed and chunked by place, so one place's series are read
without the rest (:meth:`ProjectionResult.load` opens it lazily).

``national_net_immigration_rate`` is the nation's net migration during ``year`` over its
population on 1 January, as realised per draw: the assumed rate, or what the national
population path asks for (attribute ``national_control`` = 1; neutral and historical
scenarios), or, in high and low, the assumed rate plus the places' what-if shifts.

``centrality_coefficient`` is the migration equation's centrality coefficient per draw:
as fitted up to the attribute ``centrality_last_fitted_year``, then carried on by its
process (attribute ``centrality_process``) through the gap to the base year and on to the
last year. It is absent when the migration spec has no centrality term.

Coordinates ``place`` carry ``name``, ``region``, ``county`` and ``centrality_class`` as
non-index coordinates, so aggregates need nothing else. The first projected ``year`` is
the base year (observed population on 1 January). Flows (births, deaths, net migration)
of ``year`` move the population from 1 January ``year`` to 1 January ``year + 1``; they
are NaN in the last year. Attributes record the scenarios, the assumption set, the
fits' data hashes, seeds and package versions.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from threadpoolctl import threadpool_limits

from attrbayes.constants import INTERVALS
from attrbayes.exceptions import DataError
from attrbayes.io_utils import atomic_write_with, open_saved
from attrbayes.projection.memory import DrawSpill
from attrbayes.quantiles import band_columns, band_probabilities, interval_frame, quantiles

PROJECTION_FILE = "projection.nc"
PROJECTION_SCHEMA = 2  # 2: pyramids as quantiles, compressed and chunked by place
READABLE_SCHEMAS = (1, 2)  # 1: per-draw pyramids of every place
PYRAMID_BIN = 5
GROUP_LEVELS = ("region", "county", "centrality_class")
AGE_GROUPS_PROJECTION: dict[str, tuple[int, int]] = {
    "0-15": (0, 15),
    "16-66": (16, 66),
    "67+": (67, 105),
    "80+": (80, 105),
}
STOCKS = ("population", "jobs_private", "jobs_public")  # per draw, whole persons and jobs
FLOWS = ("births", "deaths", "net_migration")  # quantiles of every place and group
PER_PLACE = (*STOCKS, *FLOWS)
AGGREGATES = ("region", "county", "centrality_class", "nation")


def projection_path(path: Path) -> Path:
    """``PROJ/projection.nc`` for a projection directory, else the path itself."""
    return path / PROJECTION_FILE if path.is_dir() else path


@dataclass(frozen=True)
class ProjectionResult:
    """Projected trajectories per draw, scenario and place (see the module docstring for
    every variable and its dimensions).

    Attributes
    ----------
    ds
        The labelled dataset: stocks per draw, flows and pyramids as quantiles of every
        place and group, the centrality coefficient's path, the observed history and the
        projection's settings (assumptions, alternative, seed, sources) as attributes.
        Opened lazily by :meth:`load`, so that one place's fan reads only that place.
    """

    ds: xr.Dataset

    @property
    def scenarios(self) -> list[str]:
        return [str(s) for s in self.ds["scenario"].values]

    @property
    def places(self) -> list[str]:
        return [str(p) for p in self.ds["place"].values]

    def aggregate(self, by: str, variables: list[str] | None = None) -> xr.Dataset:
        """The per-place ``variables`` (default: all) summed per draw over ``by`` (region,
        county, centrality_class or nation): the ``place`` dimension becomes the group
        codes."""
        if by not in AGGREGATES:
            raise DataError(f"aggregate by one of {list(AGGREGATES)}, got {by!r}")
        names = [v for v in (*PER_PLACE, "age_group_population") if v in self.ds]
        if "pyramid" in self.ds and "place" in self.ds["pyramid"].dims:  # schema 1
            names.append("pyramid")
        data = self.ds[[n for n in names if variables is None or n in variables]]
        if by == "nation":  # one group: a plain sum, without grouping's copy of the data
            return data.sum("place", skipna=False).expand_dims(place=["nation"], axis=-1)
        groups = self.ds[by].astype(str)
        out = data.groupby(groups.rename("group")).sum("place", skipna=False)
        return out.rename(group="place")

    def quantiles(
        self, variable: str = "population", *, by: str | None = None,
        masses: tuple[float, ...] = INTERVALS,
    ) -> pd.DataFrame:  # fmt: skip
        """Mean, median and equal-tailed intervals per scenario, place (or group) and year."""
        data = self.aggregate(by, [variable]) if by else self.ds
        if variable not in data:
            raise DataError(f"no projected variable {variable!r}; have {sorted(data.data_vars)}")
        da = data[variable]
        if variable in ("births", "deaths", "net_migration"):
            da = da.isel(year=slice(0, -1))  # flows of the last year move past the horizon
        frame = interval_frame(da, masses=masses)
        keep = [c for c in frame.columns if c not in ("name", "region", "county",
                                                      "centrality_class")]  # fmt: skip
        return frame[keep]

    def centrality_table(self, scenario: str | None = None) -> pd.DataFrame:
        """The centrality coefficient per year (fitted and projected): mean, median,
        equal-tailed intervals, ``p_negative`` (share of draws below 0) and ``fitted``."""
        if "centrality_coefficient" not in self.ds:
            raise DataError("this projection holds no centrality coefficient (the migration "
                            "spec has no centrality term, or it was made before attrbayes "
                            "stored the coefficient)")  # fmt: skip
        name = scenario or self.scenarios[0]
        if name not in self.scenarios:
            raise DataError(f"no scenario {name!r} in this projection; have {self.scenarios}")
        da = self.ds["centrality_coefficient"].sel(scenario=name, drop=True)
        frame = interval_frame(da.rename(coefficient_year="year"))
        frame["p_negative"] = (da < 0).mean("draw").to_numpy()
        last = int(self.ds.attrs["centrality_last_fitted_year"])
        frame["fitted"] = frame["year"] <= last
        return frame

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False,
             threads: int | None = None) -> Path:  # fmt: skip
        """Write as compressed NetCDF chunked by place (atomically; refuses to replace
        unless asked); the per-draw counts are compressed on ``threads`` threads (default:
        up to 4)."""
        target = Path(path)
        if target.exists() and not overwrite:
            raise DataError(f"{target} already exists; pass overwrite=True (CLI: --force)")
        ds = self.ds.copy()
        ds.attrs["attrbayes_projection_schema"] = PROJECTION_SCHEMA
        whole = [name for name in WHOLE_NUMBERS if name in ds and _whole(ds[name])]
        rest = ds.drop_vars(whole)
        encoding = {name: _encoding(var) for name, var in rest.data_vars.items()}
        threads = threads or min(4, os.cpu_count() or 1)

        def write(tmp: Path) -> None:
            import h5py

            rest.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
            _declare_whole(tmp, ds, whole)
            with h5py.File(tmp, "a") as f:
                known = {name: _write_chunks(f[name], _whole_blocks(ds[name]), threads)
                         for name in whole}  # fmt: skip
                _stamp_checksums(f, known)

        atomic_write_with(target, write)
        return target

    @staticmethod
    def verify(path: str | Path) -> None:
        """Check every variable of a saved projection against the SHA-256 stored with it
        at saving: an edited file is a DataError naming the variables. Files saved before
        the checksums existed warn that they cannot be verified. Reads the whole file
        (commands that read all of it anyway call it; one place's fan relies on HDF5's
        checksum of each chunk it reads)."""
        import h5py

        source = Path(path)
        with h5py.File(source, "r") as f:
            sets = {d.name.lstrip("/"): d for d in _datasets(f)}
            stored = {n: d.attrs.get(CHECKSUM_ATTR) for n, d in sets.items()}
            unchecked = [n for n, digest in stored.items() if digest is None]
            changed = [n for n, digest in stored.items()
                       if digest is not None and _checksum(sets[n]) != _text(digest)]  # fmt: skip
        if changed:
            raise DataError(f"{source}: {', '.join(changed[:5])} do not match their checksums; "
                            "the file was altered after it was saved")  # fmt: skip
        if unchecked and len(unchecked) == len(stored):
            warnings.warn(f"{source} was saved without checksums (before attrbayes stored "
                          "them): it cannot be verified", UserWarning, stacklevel=2)  # fmt: skip
        elif unchecked:
            raise DataError(f"{source}: {', '.join(unchecked[:5])} have no checksum; the file "
                            "was altered after it was saved")  # fmt: skip

    @staticmethod
    def load(path: str | Path) -> ProjectionResult:
        """Open a saved projection lazily: variables are read when used, one place's
        series without the others."""
        source = Path(path)
        ds = open_saved(source, "projection", lambda p: xr.open_dataset(p, engine="h5netcdf"))
        schema = ds.attrs.get("attrbayes_projection_schema")
        if schema is None or int(schema) not in READABLE_SCHEMAS:
            ds.close()
            raise DataError(f"{source}: projection schema {schema} is not supported")
        for coord in ("place", "scenario", "name", "region", "county", "sex", "age_group",
                      "unit", "pyramid_place", "effect_place", "band"):  # fmt: skip
            if coord in ds.coords:
                ds = ds.assign_coords({coord: ds[coord].astype(str)})
        return ProjectionResult(ds)


PLACE_DIMS = ("scenario", "place", "unit", "pyramid_place", "effect_place")
# Fletcher-32 lets HDF5 check every chunk it reads (one place's fan reads only its own)
COMPRESSION = {"zlib": True, "complevel": 4, "shuffle": True, "fletcher32": True}
CHECKSUM_ATTR = "attrbayes_sha256"  # of each variable's stored values, set when saved


def _checksum(dset) -> str:
    """SHA-256 of an HDF5 dataset as stored: its type and shape, then each chunk's
    compressed bytes with its offset (read without decompressing: fast), or the values of
    a dataset stored whole (texts by their characters, not object pointers)."""
    digest = _digest(dset)
    if dset.chunks is None:
        values = np.asarray(dset[()])
        if values.dtype.kind in "OUS":
            digest.update("\x1f".join(map(str, values.ravel())).encode())
        else:
            digest.update(np.ascontiguousarray(values).tobytes())
        return digest.hexdigest()
    for offset in _chunk_offsets(dset):
        _update(digest, offset, dset.id.read_direct_chunk(offset)[1])
    return digest.hexdigest()


def _chunk_offsets(dset) -> list[tuple[int, ...]]:
    """The offsets of a dataset's stored chunks, sorted: in one pass where HDF5 has chunk
    iteration (1.14 on), else a lookup per chunk (each one a walk of the index)."""
    if not hasattr(dset.id, "chunk_iter"):
        return sorted(dset.id.get_chunk_info(i).chunk_offset
                      for i in range(dset.id.get_num_chunks()))  # fmt: skip
    found: list[tuple[int, ...]] = []
    dset.id.chunk_iter(lambda info: found.append(info.chunk_offset))
    return sorted(found)


def _digest(dset):
    """A dataset's checksum before its contents: its type and shape."""
    return hashlib.sha256(f"{dset.dtype}:{dset.shape}".encode())


def _update(digest, offset: tuple[int, ...], stored: bytes) -> None:
    """A chunk's share of its dataset's checksum: its offset, then its bytes as stored."""
    digest.update(repr(offset).encode())
    digest.update(stored)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _datasets(group) -> list:
    """Every dataset of an h5py file, by name."""
    import h5py

    found: list = []
    group.visititems(lambda _name, obj: found.append(obj) if isinstance(obj, h5py.Dataset)
                     else None)  # fmt: skip
    return found


def _stamp_checksums(f, known: dict[str, str]) -> None:
    """Store every dataset's checksum in an open h5py file: those in ``known`` (name ->
    checksum, computed as they were written), the others read back."""
    for dset in _datasets(f):
        name = dset.name.lstrip("/")
        dset.attrs[CHECKSUM_ATTR] = known[name] if name in known else _checksum(dset)


def _encoding(var: xr.DataArray) -> dict:
    """zlib with byte shuffling, one chunk per scenario and place (all draws and years),
    so that one place reads alone."""
    if not var.dims:
        return {}
    return {**COMPRESSION, "chunksizes": _chunks(var)}


def _chunks(var: xr.DataArray) -> tuple[int, ...]:
    return tuple(1 if dim in PLACE_DIMS else max(size, 1) for dim, size in var.sizes.items())


# Per-draw counts in whole persons and jobs: stored as int32 (a quarter smaller than
# float32 after shuffling and zlib) with a scale factor of 1, so that readers decode them
# to float32 (lazily). Written a scenario at a time (xarray's own encoding would hold
# several full-size copies of every variable at once), each chunk compressed in a thread
# by the same filters HDF5 would apply (HDF5 compresses on one thread only).
WHOLE_NUMBERS = (*STOCKS, "age_group_population")


def _whole(var: xr.DataArray) -> bool:
    """Whether every value is a whole number that fits an int32: the engine's are; a
    result built otherwise keeps its floats rather than being rounded."""
    if var.dtype.kind != "f" or not var.dims or var.dims[0] != "scenario":
        return False
    limit = np.iinfo(np.int32).max
    return all(
        np.all(np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < limit))
        for v in (var.isel(scenario=k).to_numpy() for k in range(var.sizes["scenario"]))
    )


def _declare_whole(path: Path, ds: xr.Dataset, names: list[str]) -> None:
    """The NetCDF variables (dimensions, attributes, filters) of the whole-number counts,
    without values: :func:`_write_chunks` fills them."""
    import h5netcdf

    with h5netcdf.File(path, "a") as f:
        for name in names:
            var = ds[name]
            out = f.create_variable(
                name, var.dims, dtype="i4", chunks=_chunks(var), compression="gzip",
                compression_opts=COMPRESSION["complevel"], shuffle=True, fletcher32=True,
            )  # fmt: skip
            out.attrs.update({**var.attrs, "scale_factor": np.float32(1.0)})


def _whole_blocks(var: xr.DataArray) -> Iterator[np.ndarray]:
    """A whole-number variable's values as int32, one scenario (its first axis) at a time."""
    for k in range(var.sizes["scenario"]):
        yield var.isel(scenario=k).to_numpy().astype(np.int32)[None]


def _write_chunks(dset, blocks: Iterable[np.ndarray], threads: int) -> str:
    """Fill an empty chunked h5py dataset from consecutive blocks along its first axis,
    each whole chunks, compressing the chunks on ``threads`` threads exactly as its
    filters would (byte shuffle, zlib, Fletcher-32); return its checksum
    (:func:`_checksum`'s, from the bytes as written, in the order of their offsets)."""
    from numcodecs import Fletcher32

    filters = (dset.compression, dset.compression_opts, dset.shuffle, dset.fletcher32)
    if filters != ("gzip", COMPRESSION["complevel"], True, True):
        raise ValueError(f"{dset.name}: filters {filters} are not the projection's")
    fletcher, level = Fletcher32(), COMPRESSION["complevel"]

    def encode(values: np.ndarray) -> bytes:
        shuffled = np.ascontiguousarray(values).view(np.uint8).reshape(-1, values.itemsize).T
        return fletcher.encode(zlib.compress(np.ascontiguousarray(shuffled), level))

    digest, chunk, start = _digest(dset), dset.chunks, 0
    with ThreadPoolExecutor(max(threads, 1)) as pool:
        for block in blocks:
            if block.shape[1:] != dset.shape[1:] or any(
                n % c for n, c in zip(block.shape, chunk, strict=True)
            ):  # fmt: skip
                raise ValueError(f"{dset.name}: a block of shape {block.shape} is not whole "
                                 f"chunks {chunk} of {dset.shape}")  # fmt: skip
            grid = [n // c for n, c in zip(block.shape, chunk, strict=True)]
            offsets = [tuple(i * c for i, c in zip(cell, chunk, strict=True))
                       for cell in np.ndindex(*grid)]  # fmt: skip
            pieces = (block[tuple(slice(o, o + c) for o, c in zip(offset, chunk, strict=True))]
                      for offset in offsets)  # fmt: skip
            for offset, stored in zip(offsets, pool.map(encode, pieces), strict=True):
                at = (offset[0] + start, *offset[1:])
                dset.id.write_direct_chunk(at, stored)
                _update(digest, at, stored)
            start += block.shape[0]
    if start != dset.shape[0]:
        raise ValueError(f"{dset.name}: the blocks cover {start} of {dset.shape[0]} rows")
    return digest.hexdigest()


def unit_key(level: str, code: str | int | None = None) -> str:
    """The ``unit`` label of a place or group: ``place:0301``, ``nation``."""
    return "nation" if level == "nation" else f"{level}:{code}"


def summary_units(groups: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Every place, then every region, county and centrality class and the nation: the
    units of the stored quantiles, with the groups' membership (places x groups, 1 where
    the place belongs); ``groups`` has the places as index and the columns of
    :data:`GROUP_LEVELS`."""
    keys = [unit_key("place", p) for p in groups.index]
    columns = []
    for level in GROUP_LEVELS:
        codes = groups[level].astype(str).to_numpy()
        for code in sorted(set(codes)):
            keys.append(unit_key(level, code))
            columns.append((codes == code).astype(np.float32)[:, None])
    keys.append(unit_key("nation"))
    columns.append(np.ones((len(groups), 1), dtype=np.float32))
    return keys, np.hstack(columns)


def age_bands(pyramid: np.ndarray, width: int = PYRAMID_BIN) -> np.ndarray:
    """Single ages (last axis, 0..105) summed into bands of ``width`` years starting at 0,
    ``width``, ...; the oldest age, 105 and over, is a band of its own when ``width``
    divides 105 (as with 5-year bands)."""
    starts = np.arange(0, pyramid.shape[-1], width)
    return np.add.reduceat(pyramid, starts, axis=-1)


def unit_quantiles(
    draws: np.ndarray | DrawSpill, membership: np.ndarray, block: int = 8192, threads: int = 2
) -> np.ndarray:
    """Quantiles (band, unit, ...) of per-draw values ``draws`` (D, P, ...; in memory or
    spilled to disk) of every place and then every group (``membership``, places x
    groups), each group summed per draw over its places before the quantiles; ``block``
    cells (place or group x the other dims) at a time, so that memory stays small
    whatever the number of draws; ``threads`` blocks side by side (reading, the group
    sums and the sort release the GIL)."""
    d, p = draws.shape[:2]
    rest = draws.shape[2:]
    n_cells = math.prod(rest)
    if isinstance(draws, DrawSpill):
        read = draws.cells
    else:
        flat = draws.reshape(d, p, n_cells)

        def read(lo: int, hi: int) -> np.ndarray:
            return np.ascontiguousarray(flat[:, :, lo:hi].transpose(2, 0, 1))

    n_units = p + membership.shape[1]
    out = np.empty((len(band_probabilities()), n_units, n_cells), dtype=np.float32)
    member = membership.astype(np.float32 if isinstance(draws, DrawSpill) else draws.dtype)
    step = max(1, block // n_units)

    def one_block(lo: int) -> None:
        part = read(lo, min(lo + step, n_cells))  # (cell, draw, place)
        grouped = (part.reshape(-1, p) @ member).reshape(*part.shape[:2], -1)  # one BLAS product
        summed = np.concatenate([part, grouped], axis=2)
        out[:, :, lo : lo + step] = quantiles(summed, band_probabilities(), axis=1).transpose(
            0, 2, 1
        )

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        list(pool.map(one_block, range(0, n_cells, step)))
    return out.reshape(out.shape[0], n_units, *rest)


def pyramid_summary(draws: np.ndarray, membership: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit quantiles (band, unit, pyramid_year, sex, age) of per-draw pyramids ``draws``
    (D, P, years, S, A): by single age and by 5-year band."""
    return unit_quantiles(draws, membership), unit_quantiles(age_bands(draws), membership)


def add_pyramids(
    ds: xr.Dataset, single: np.ndarray, banded: np.ndarray, units: list[str],
    per_draw: np.ndarray | None = None, places: Sequence[str] = (),
) -> None:  # fmt: skip
    """Put pyramid quantiles (scenario, band, unit, pyramid_year, sex, age or age_band)
    and, for ``places``, per-draw pyramids (scenario, draw, place, pyramid_year, sex, age)
    into ``ds``, which has the ``pyramid_year``, ``sex`` and ``age`` coordinates."""
    dims = ("scenario", "band", "unit", "pyramid_year", "sex")
    ds["pyramid_quantiles"] = ((*dims, "age"), single)
    ds["pyramid_quantiles_5"] = ((*dims, "age_band"), banded)
    ds.coords.update({"band": band_columns(), "unit": units,
                      "age_band": np.arange(0, ds.sizes["age"], PYRAMID_BIN)})  # fmt: skip
    if places:
        ds["pyramid"] = (("scenario", "draw", "pyramid_place", "pyramid_year", "sex", "age"),
                         per_draw)  # fmt: skip
        ds.coords["pyramid_place"] = list(places)


def add_flows(ds: xr.Dataset, flows: dict[str, np.ndarray], units: list[str]) -> None:
    """Put the flows' quantiles (scenario, band, unit, year) into ``ds`` as
    ``<flow>_quantiles``."""
    for name, values in flows.items():
        ds[f"{name}_quantiles"] = (("scenario", "band", "unit", "year"), values)
    ds.coords.update({"band": band_columns(), "unit": units})


def example_projection(
    *, n_draws: int = 50, n_places: int = 6, first_year: int = 2024, last_year: int = 2030,
    scenarios: tuple[str, ...] = ("neutral", "historical"), seed: int = 0,
    pyramid_places: Sequence[str] | None = None,
) -> ProjectionResult:  # fmt: skip
    """A small, internally consistent fake projection for testing outputs (not a model run):
    population follows its flows exactly (stored as quantiles, as a projection stores
    them), age groups and pyramids sum to population.
    Pyramids are stored as a projection stores them, per draw for ``pyramid_places`` (all
    places when None)."""
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, last_year + 1)
    places = [f"{1101 + i:04d}" for i in range(n_places)]
    shape = (len(scenarios), n_draws, n_places, len(years))
    base = rng.uniform(500, 50_000, n_places)
    births = np.empty(shape)
    deaths = np.empty(shape)
    nm = np.empty(shape)
    pop = np.empty(shape)
    pop[..., 0] = base[None, None, :]
    for t in range(len(years)):
        births[..., t] = pop[..., t] * rng.normal(0.011, 0.001, shape[:3])
        deaths[..., t] = pop[..., t] * rng.normal(0.009, 0.001, shape[:3])
        nm[..., t] = pop[..., t] * rng.normal(0.002, 0.006, shape[:3])
        if t + 1 < len(years):
            pop[..., t + 1] = pop[..., t] + births[..., t] - deaths[..., t] + nm[..., t]
    for flow in (births, deaths, nm):
        flow[..., -1] = np.nan
    ages = np.arange(106)
    shares = np.exp(-ages / 40.0)
    shares /= shares.sum()
    sex_share = np.array([0.5, 0.5])
    pyramid_years = years[[0, -1]]
    pyr = pop[..., [0, -1], None, None] * sex_share[:, None] * shares[None, :]
    group_pop = np.stack(
        [pop * shares[lo : hi + 1].sum() for lo, hi in AGE_GROUPS_PROJECTION.values()], axis=-1
    )
    jobs_private = pop * 0.35 * rng.normal(1, 0.02, shape)
    jobs_public = pop * 0.15 * np.ones(shape)
    dims = ("scenario", "draw", "place", "year")
    history_years = np.arange(first_year - 10, first_year)
    ds = xr.Dataset(
        {
            "population": (dims, pop),
            "jobs_private": (dims, jobs_private),
            "jobs_public": (dims, jobs_public),
            "age_group_population": ((*dims, "age_group"), group_pop),
            "history_population": (
                ("place", "history_year"),
                base[:, None] * np.linspace(0.9, 1.0, len(history_years))[None, :],
            ),
            "history_jobs": (
                ("place", "history_year"),
                base[:, None] * 0.5 * np.linspace(0.95, 1.0, len(history_years))[None, :],
            ),
        },
        coords={
            "scenario": list(scenarios),
            "draw": np.arange(n_draws),
            "place": places,
            "year": years,
            "age_group": list(AGE_GROUPS_PROJECTION),
            "pyramid_year": pyramid_years,
            "sex": ["female", "male"],
            "age": ages,
            "history_year": history_years,
            "name": ("place", [f"Place {p}" for p in places]),
            "region": ("place", [f"R{i // 2}" for i in range(n_places)]),
            "county": ("place", ["11"] * (n_places // 2) + ["15"] * (n_places - n_places // 2)),
            "centrality_class": ("place", [1 + i % 6 for i in range(n_places)]),
        },
        attrs={"assumptions": "example", "kind": "example (not a model run)"},
    )
    groups = ds[list(GROUP_LEVELS)].to_dataframe()[list(GROUP_LEVELS)]
    units, membership = summary_units(groups)
    summaries = [pyramid_summary(pyr[k].astype(np.float32), membership)
                 for k in range(len(scenarios))]  # fmt: skip
    chosen = places if pyramid_places is None else list(pyramid_places)
    add_pyramids(ds, np.stack([a for a, _ in summaries]), np.stack([b for _, b in summaries]),
                 units, pyr[:, :, [places.index(c) for c in chosen]], chosen)  # fmt: skip
    flows = {"births": births, "deaths": deaths, "net_migration": nm}
    add_flows(ds, {k: np.stack([unit_quantiles(v[i], membership) for i in range(len(scenarios))])
                   for k, v in flows.items()}, units)  # fmt: skip
    return ProjectionResult(ds)
