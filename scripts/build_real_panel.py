"""Rebuild the real Norwegian panel from the public raw files.

    python scripts/build_real_panel.py --raw ../shared/data/raw --out data/real-2020 \
        [--structure 2017|2020|2024] [--force]

The same as ``attrbayes data build-real``; the build report is written beside the panel
(BUILD_REPORT.md, build_report.json).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attrbayes.data.real import STRUCTURES
from attrbayes.exceptions import AttrbayesError
from attrbayes.pipeline import build_real_to


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True, help="the raw folder")
    parser.add_argument("--out", type=Path, required=True, help="panel directory to write")
    parser.add_argument("--structure", choices=STRUCTURES, default="2020")
    parser.add_argument("--force", action="store_true", help="replace an existing directory")
    args = parser.parse_args(argv)
    try:
        panel, _ = build_real_to(
            args.raw,
            args.out,
            args.structure,
            overwrite=args.force,
            progress=lambda step: print(f"... {step}", flush=True),
        )
    except AttrbayesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{panel.manifest.name}: {len(panel.places)} places written to {args.out}")
    print(f"report: {args.out / 'BUILD_REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
