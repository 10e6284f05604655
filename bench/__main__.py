"""`python -m bench`: run every benchmark in turn, each printing its own table."""

import importlib
import sys
from pathlib import Path

BENCHES = sorted(path.stem for path in Path(__file__).parent.glob("*_bench.py"))


def main() -> None:
    """Run each `bench/*_bench.py` module's main() with no arguments (their defaults)."""
    for name in BENCHES:
        print(f"\n## {name}\n", flush=True)
        sys.argv = [f"bench.{name}"]
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main()
