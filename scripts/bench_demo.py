"""Time the demo head's generation (fresh process state each repeat) and a demo_model() call.

    PYTHONPATH=. .venv/bin/python scripts/bench_demo.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

from flame_core import demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    build, model = [], []
    for _ in range(args.repeat):
        demo._build.cache_clear()
        start = time.perf_counter()
        demo.demo_model()
        build.append(time.perf_counter() - start)
        start = time.perf_counter()
        demo.demo_model()
        model.append(time.perf_counter() - start)
    print(f"demo_model() first call (generation): median {statistics.median(build) * 1e3:.0f} ms, "
          f"best {min(build) * 1e3:.0f} ms")
    print(f"demo_model() cached arrays:           median {statistics.median(model) * 1e3:.0f} ms, "
          f"best {min(model) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
