"""Time the demo head's generation (fresh process state each repeat) and a demo_model() call.

    .venv/bin/python scripts/bench_demo.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import measure

from flame_core import demo


def generate() -> None:
    demo._build.cache_clear()
    demo.demo_model()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"demo_model() first call (generation): {measure(generate, args.repeat, warmup=0):.0f}")
    print(f"demo_model() cached arrays:           {measure(demo.demo_model, args.repeat, warmup=0):.0f}")


if __name__ == "__main__":
    main()
