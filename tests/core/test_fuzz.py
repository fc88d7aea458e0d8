"""A short fuzz campaign in CI: mutated files of every format load or raise FlameError (see fuzz_readers.py).

The seed and count are fixed, so a failure names a case that ``scripts/fuzz_readers.py --replay`` writes
out again. A longer campaign: ``python scripts/fuzz_readers.py --count 2000``.
"""

from __future__ import annotations

import fuzz_readers

#: Cases per format in CI (16 formats: a few seconds of CPU per numpy).
CI_CASES = 40


def test_every_reader_survives_mutated_files():
    done, findings = fuzz_readers.run_campaign(seed=0, count=CI_CASES)
    assert done == CI_CASES * len(fuzz_readers.target_names())
    assert not findings, "\n".join(f"{f.target} case {f.case}: {f.problem}" for f in findings)


def test_the_harness_reports_other_exceptions():
    done, findings = fuzz_readers.run_target(seed=0, target="self-check", count=20)
    assert done == 20
    assert findings and all(f.problem.startswith(("ValueError", "UnicodeDecodeError")) for f in findings)
