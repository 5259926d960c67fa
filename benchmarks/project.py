"""Benchmark: the projection engine at full size (issue 17 target: under 10 s wall and
1.5 GB peak memory on the 2-core machine), the saved file, and one place's fan read back.

Run: ./dev python benchmarks/project.py [--draws 1000] [--to 2050] [--chunk 64] [--workers 2]
     [--baseline REF]  (also runs git REF's copy of this script, e.g. e3ff537, and prints
     the ratios)

356 places x 1,000 draws x 2 sexes x 106 ages to 2050, one scenario (historical). The
migration and jobs fits (4 chains x 250 draws = 1,000 draws each, default synthetic
panel) are made once in a separate process and cached in ``runs/bench-fits``, so that the
peak memory reported (ru_maxrss of this process) is the projection's, not the sampler's.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

FITS = Path("runs/bench-fits")


def prepare() -> None:
    from attrbayes.config import SamplerConfig
    from attrbayes.runs import prepare_fit, run_fit
    from attrbayes.synthetic import synthesize_panel

    synthetic = synthesize_panel()
    synthetic.write(FITS / "panel", overwrite=True)
    config = SamplerConfig(chains=4, draws=250, tune=500)
    for spec in ("migration_2022", "jobs_2022"):
        run_fit(prepare_fit(synthetic.panel, spec, level="municipality"), config, FITS / spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--to", type=int, default=2050)
    parser.add_argument("--chunk", type=int, default=64)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scenario", default="historical")
    parser.add_argument("--baseline", help="git ref whose projection engine to time beside")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare()
        return
    if not (FITS / "jobs_2022" / "fit.nc").is_file():
        print("fitting migration_2022 and jobs_2022 once (cached in runs/bench-fits) ...")
        subprocess.run([sys.executable, __file__, "--prepare"], check=True)

    from attrbayes.data.panel import read_panel
    from attrbayes.projection.engine import project
    from attrbayes.runs import load_fit

    panel = read_panel(FITS / "panel")
    migration = load_fit(FITS / "migration_2022")
    jobs = load_fit(FITS / "jobs_2022")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    result = project(migration, jobs, panel, scenarios=[args.scenario], draws=args.draws,
                     to=args.to, chunk=args.chunk, workers=args.workers)  # fmt: skip
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ds = result.ds
    span = f"{int(ds.year[0])}-{int(ds.year[-1])}"
    workers = args.workers or "auto"
    print(f"{ds.sizes['place']} places x {ds.sizes['draw']} draws x 2 sexes x 106 ages, "
          f"{span}, scenario {args.scenario}, chunk {args.chunk}, workers {workers}")  # fmt: skip
    print(
        f"projection wall {wall:.1f} s; peak RSS {peak:.0f} MB (before projecting {before:.0f} MB)"
    )
    out = Path("runs/bench-projection")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    path = result.save(out / "projection.nc", overwrite=True)
    print(f"saved in {time.perf_counter() - start:.1f} s: {path.stat().st_size / 1e6:.0f} MB")
    fan = [str(Path(sys.executable).parent / "attrbayes"), "fan", str(out), "--place", "0301"]
    start = time.perf_counter()
    subprocess.run(fan, check=True, capture_output=True)
    fan_wall = time.perf_counter() - start
    fan_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"fan of one place: {fan_wall:.1f} s wall, peak RSS {fan_peak:.0f} MB")
    nation = result.quantiles("population", by="nation")
    print(
        nation[nation["year"].isin([int(ds.year[0]), 2030, 2040, args.to])].to_string(index=False)
    )
    if args.baseline:
        from _baseline import number, run_baseline

        same = ["--draws", str(args.draws), "--to", str(args.to), "--chunk", str(args.chunk),
                "--scenario", args.scenario]  # fmt: skip
        if args.workers:
            same += ["--workers", str(args.workers)]
        old = run_baseline(args.baseline, "project.py", same)
        old_wall, old_peak = number("projection wall", old), number("peak RSS", old)
        print(f"baseline {args.baseline}: projection wall {old_wall:.1f} s, peak RSS "
              f"{old_peak:.0f} MB; now {wall / old_wall:.2f}x the time, "
              f"{peak / old_peak:.2f}x the memory")  # fmt: skip


if __name__ == "__main__":
    main()
