"""`python -m bench [NAME ...]`: run every benchmark (or the named ones, e.g. `chaos`), each printing its table."""

import importlib
import sys
from pathlib import Path

BENCHES = sorted(path.stem for path in Path(__file__).parent.glob("*_bench.py"))


def main() -> None:
    """Run each chosen `bench/*_bench.py` module's main() with no arguments (their defaults)."""
    wanted = [f"{name.removesuffix('_bench')}_bench" for name in sys.argv[1:]]
    unknown = sorted(set(wanted) - set(BENCHES))
    if unknown:
        raise SystemExit(f"no such benchmark: {', '.join(unknown)} (there are {', '.join(BENCHES)})")
    for name in wanted or BENCHES:
        print(f"\n## {name}\n", flush=True)
        sys.argv = [f"bench.{name}"]
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main()
