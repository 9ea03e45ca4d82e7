"""``python -m infra.grafana [--out DIR]``: write the dashboards' JSON (default: infra/grafana/dashboards)."""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.grafana.build import DASHBOARDS_DIR, write


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.grafana", description=__doc__)
    parser.add_argument("--out", type=Path, default=DASHBOARDS_DIR, help="directory for the JSON files")
    for path in write(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
