"""Attractiveness as a posterior quantity: per place and year, per period, in % of the
base and persons per year, with intervals and rank distributions. Residential
attractiveness comes from a migration fit, business attractiveness from a jobs fit.

Attractiveness is the latent ``group + place (+ AR)`` part of the linear predictor
(MODEL.md section 6.2): what the structure (job growth, centrality, DS) and the year's
national level do not explain and that persists beyond one year's noise. With
``[attractiveness] ar1`` the AR part, a stationary AR(1) per place integrated out of the
likelihood, is drawn here from its conditional posterior (:func:`state_draws`). A model
without place effects has no latent attractiveness; there the posterior residual
``y - mu`` stands in, as in the OLS world. Aggregates and ranks are computed per draw
before any quantile is taken.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import xarray as xr

from attrbayes.equation import equation_mean, fixed_attractiveness, noise_sd, row_parts
from attrbayes.exceptions import DataError
from attrbayes.quantiles import interval_frame
from attrbayes.results import stacked_size


def attractiveness_draws(
    fit, index: np.ndarray | None = None, state: xr.Dataset | None = None
) -> xr.DataArray:
    """Draws of attractiveness (rate per year) with dims draw, place, year: residential for
    a migration fit, business for a jobs fit; at the stacked draws ``index`` (all when
    None) with their AR ``state`` (:func:`state_draws` at ``index``; drawn here, a block
    of draws at a time, when None)."""
    frame = fit.design.frame
    places = np.sort(frame["place"].unique())
    years = np.sort(frame["year"].unique())
    ar1 = bool(fit.spec.attractiveness.ar1)
    if state is None and index is None and ar1:
        state = vars(fit).get("attractiveness_state")  # when already drawn
    if not fit.has_latent_attractiveness:
        if index is not None:
            raise ValueError("attractiveness at chosen draws needs a fit with place effects")
        resid = fit.residual_draws()
        return (
            resid.assign_coords(
                place=("obs", frame["place"].to_numpy()), year=("obs", frame["year"].to_numpy())
            )
            .set_index(obs=["place", "year"])
            .unstack("obs")
            .transpose("draw", "place", "year")
        )
    draw = np.arange(stacked_size(fit.posterior)) if index is None else np.asarray(index)
    # summed in numpy in one (draw, place, year) array: xarray's aligning sums of the
    # broadcast parts took seconds on a fit's 4,000 draws. float32 (7 digits; the rates
    # are about 1e-2): a fit's 4,000 draws of every place and year take 120 MB, not 240
    total = np.empty((len(draw), len(places), len(years)), dtype=np.float32)
    total[...] = fixed_attractiveness(fit, draw, places).to_numpy()[:, :, None]
    blocks = [(slice(None), state)] if state is not None or not ar1 else state_blocks(fit, draw)
    for at, part in blocks:
        if part is not None:
            total[at] += _along(part["place_effect"], place=places).to_numpy()[:, :, None]
            total[at] += _along(part["ar"], place=places, year=years).to_numpy()
    return xr.DataArray(total, coords={"draw": draw, "place": places, "year": years},
                        dims=("draw", "place", "year"), name="attractiveness")  # fmt: skip


def _along(da: xr.DataArray, **labels: np.ndarray) -> xr.DataArray:
    """``da`` (draw first) at ``labels`` in their order; no copy when it already is."""
    order = [dim for dim in ("draw", *labels) if dim in da.dims]
    da = da.transpose(*order)
    if all(np.array_equal(da[dim].to_numpy(), values) for dim, values in labels.items()):
        return da
    return da.sel(labels)


def state_draws(fit, index: np.ndarray | None = None) -> xr.Dataset | None:
    """Draws of the place effects (draw, place) and of attractiveness's time-varying AR(1)
    part ``ar`` (draw, place, year over the window, gap years included) that the
    likelihood integrated out, at the stacked posterior draws ``index`` (all when None),
    or None when the spec has no AR part.

    Per posterior draw, the Kalman filter is rerun on the draw's residuals and noise
    variances and its output sampled backwards (:func:`attrbayes.models.kalman.
    sample_states`): the draws are from the exact conditional posterior given the draw's
    parameters and the data. Each posterior draw has its own random stream (the fit's
    seed and the draw's number), so a draw's state is the same whichever draws are asked.
    """
    if not fit.spec.attractiveness.ar1:
        return None
    index = np.arange(stacked_size(fit.posterior)) if index is None else np.asarray(index)
    parts = [part for _, part in state_blocks(fit, index)]
    return xr.Dataset({name: xr.concat([p[name] for p in parts], "draw")
                       for name in ("place_effect", "ar")})  # fmt: skip


# posterior draws whose AR states are drawn at a time
STATE_BLOCK = 500


def state_blocks(fit, index: np.ndarray) -> Iterator[tuple[slice, xr.Dataset]]:
    """:func:`state_draws` at the stacked draws ``index`` of a fit with an AR part, a
    block of draws at a time (so that all of a fit's draws never hold their AR state at
    once): yields each block's positions in ``index`` and its state."""
    from attrbayes.models.kalman import cell_grid, state_draws_block

    frame = fit.design.frame
    places = np.sort(frame["place"].unique())
    years = fit.design.window
    place_idx = pd.Index(places).get_indexer(frame["place"])
    year_idx = pd.Index(years).get_indexer(frame["year"])
    cells = cell_grid(place_idx, year_idx, len(places), len(years))
    n_draws = stacked_size(fit.posterior)
    phi = fit.draws("ar_phi").to_numpy()
    sigma = fit.draws("sigma_ar").to_numpy()
    place_var = np.zeros(n_draws)
    if "sigma_place" in fit.posterior:
        place_var = fit.draws("sigma_place").to_numpy() ** 2
    done = 0
    # the graph's mu and noise in numpy (tested equal): compiling the graph for them took
    # longer than the filter
    for start in range(0, len(index), STATE_BLOCK):
        part = index[start : start + STATE_BLOCK]
        eq, parts = row_parts(fit, frame, part)
        mu = equation_mean(parts)
        noise_var = noise_sd(eq, slice(None), fit.design.size) ** 2
        shape = (len(years) + 1, len(places))
        normals = np.stack([np.random.default_rng([fit.sampler.seed, 1, int(d)])
                            .standard_normal(shape) for d in part])  # fmt: skip
        u, ar = state_draws_block(fit.design.y - mu, noise_var, cells, phi[part], sigma[part],
                                  place_var[part], normals)  # fmt: skip
        draw = {"draw": part}
        yield slice(done, done + len(part)), xr.Dataset(
            {"place_effect": xr.DataArray(u, coords={**draw, "place": places},
                                          dims=("draw", "place")),
             "ar": xr.DataArray(ar, coords={**draw, "place": places, "year": years},
                                dims=("draw", "place", "year"))}
        )  # fmt: skip
        done += len(part)


def size_array(fit) -> xr.DataArray:
    """The base of the fit's rate by place and year: population on 1 January (migration)
    or last year's private jobs (jobs), so that rate x size is persons (or jobs) a year."""
    column = fit.design.size_column
    frame = fit.design.frame.set_index(["place", "year"])[column]
    return xr.DataArray.from_series(frame).rename(column)


def select_years(da: xr.DataArray, years: tuple[int, int] | None) -> xr.DataArray:
    if years is None:
        return da
    first, last = years
    kept = da.sel(year=slice(first, last))
    if kept.sizes["year"] == 0:
        available = (int(da.year.min()), int(da.year.max()))
        raise DataError(f"no fitted years in {first}-{last}; the fit covers {available}")
    return kept


def attractiveness_table(
    fit, *, years: tuple[int, int] | None = None, by: str = "period"
) -> pd.DataFrame:
    """Attractiveness with 50/80/95 % intervals, in % of the base (population; private
    jobs for the jobs model) and in persons (employed persons: jobs) per year.

    ``by="period"``: the mean over the chosen years per draw, one row per place;
    ``by="year"``: one row per place and year.
    """
    if by not in ("period", "year"):
        raise ValueError(f"by must be 'period' or 'year', got {by!r}")
    rate = select_years(fit.latent_attractiveness, years)
    persons = rate * size_array(fit).sel(year=rate.year)
    if by == "period":
        rate, persons = rate.mean("year"), persons.mean("year")
    pct = interval_frame(rate * 100).add_prefix("pct_")
    per = interval_frame(persons).add_prefix("persons_")
    keys = ["place"] if by == "period" else ["place", "year"]
    table = pd.concat(
        [
            pct.rename(columns={f"pct_{k}": k for k in keys}),
            per.drop(columns=[f"persons_{k}" for k in keys]),
        ],
        axis=1,
    )
    if "name" in fit.design.frame.columns:
        names = fit.design.frame.groupby("place")["name"].first()
        table.insert(1, "name", table["place"].map(names))
    return table.sort_values(
        [*keys[1:], "pct_median"], ascending=[*([True] * (len(keys) - 1)), False]
    )


def rank_table(
    fit, *, years: tuple[int, int] | None = None, top: int = 10, mass: float = 0.8
) -> pd.DataFrame:
    """Rank distribution of period attractiveness (rank 1 = most attractive).

    Per draw the places are ranked; the table gives the median rank, its equal-tailed
    ``mass`` interval, and the probabilities of being in the top and bottom ``top``.
    """
    period = select_years(fit.latent_attractiveness, years).mean("year")
    values = period.transpose("draw", "place").to_numpy()
    n = values.shape[1]
    if not 1 <= top <= n:
        raise DataError(f"top must be between 1 and the number of places ({n}), got {top}")
    order = np.argsort(-values, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, n + 1)[None, :], axis=1)
    lo, hi = (1 - mass) / 2, 1 - (1 - mass) / 2
    pct = round(mass * 100)
    table = pd.DataFrame(
        {
            "place": period["place"].to_numpy(),
            "median_pct": np.median(values, axis=0) * 100,
            "rank_median": np.median(ranks, axis=0),
            f"rank_lower_{pct}": np.quantile(ranks, lo, axis=0, method="inverted_cdf"),
            f"rank_upper_{pct}": np.quantile(ranks, hi, axis=0, method="inverted_cdf"),
            f"p_top_{top}": (ranks <= top).mean(axis=0),
            f"p_bottom_{top}": (ranks > n - top).mean(axis=0),
        }
    )
    if "name" in fit.design.frame.columns:
        names = fit.design.frame.groupby("place")["name"].first()
        table.insert(1, "name", table["place"].map(names))
    return table.sort_values(["rank_median", "median_pct"], ascending=[True, False]).reset_index(
        drop=True
    )


def ranked_attractiveness(
    fit, *, years: tuple[int, int] | None = None, top: int = 10
) -> pd.DataFrame:
    """Period attractiveness with its rank distribution, ordered by median rank."""
    table = attractiveness_table(fit, years=years)
    ranks = rank_table(fit, years=years, top=top).drop(columns="median_pct")
    keys = [c for c in ("place", "name") if c in ranks.columns]
    merged = table.merge(ranks, on=keys)
    return merged.sort_values("rank_median").reset_index(drop=True)
