"""A fuzz campaign over every reader: mutations of valid files must load or raise FlameError.

    python scripts/fuzz_readers.py --count 2000 [--seed 1] [--jobs 2] [--target model-npz ...]
    python scripts/fuzz_readers.py --replay model-npz 17 --seed 1 --out /tmp/case   # write one case's file

Prints each finding (target, case, problem) and a tally; exits 1 when something was found. The harness
and the table of formats live in ``tests/core/fuzz_readers.py`` (the CI test runs a short campaign).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))

import fuzz_readers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500, help="cases per format (default 500)")
    parser.add_argument("--seed", type=int, default=1, help="campaign seed (default 1; CI uses 0)")
    parser.add_argument("--jobs", type=int, default=2, help="formats fuzzed in parallel (default 2)")
    parser.add_argument("--target", nargs="+", help=f"formats (default all): {', '.join(fuzz_readers.target_names())}")
    parser.add_argument("--replay", nargs=2, metavar=("TARGET", "CASE"), help="write the file of one case")
    parser.add_argument("--out", default="fuzz-case", help="folder for --replay (default ./fuzz-case)")
    args = parser.parse_args()
    if args.replay:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        print(fuzz_readers.replay(args.seed, args.replay[0], int(args.replay[1]), out))
        return 0
    start = time.perf_counter()
    done, findings = fuzz_readers.run_campaign(args.seed, args.count, args.target, args.jobs)
    for f in findings:
        print(f"{f.target} case {f.case}: {f.problem}")
    print(f"{done} cases, {len(findings)} findings, {time.perf_counter() - start:.1f} s")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
