#!/usr/bin/env python3
"""Run the integration tests: every tests/integration/test_*.py, against one
shared stack (stack.shared_stack()), started on first use and stopped at the
end.

  python3 tests/integration/run.py [-v] [-k PATTERN]... [-x]

Ends with one line "N passed, N failed" (", N skipped" when any) and exits 1
on any failure or error, on sanitizer reports in the logs, or when no test
ran.  APITOKEND_BUILD_DIR picks the binaries (default build/).
"""

import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# No __pycache__ in the source tree (it would end up in make dist).
sys.dont_write_bytecode = True

import stack  # noqa: E402  (after the path is set)


def main():
    ap = argparse.ArgumentParser(description="apitokend integration tests")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only cases whose name contains PATTERN (unittest -k)")
    ap.add_argument("-x", "--failfast", action="store_true", help="stop at the first failure")
    args = ap.parse_args()

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [p if "*" in p else f"*{p}*" for p in args.patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)

    started = time.monotonic()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if args.verbose else 1,
                                     failfast=args.failfast)
    result = runner.run(suite)

    findings = stack.stop_shared_stack(dump_logs=not result.wasSuccessful())
    if findings:
        print("sanitizer reports in the shared stack's logs:", file=sys.stderr)
        for line in findings[:50]:
            print("  " + line, file=sys.stderr)

    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped - len(result.expectedFailures)
    if findings:
        failed += 1  # the sanitizer run counts as one failed check
    elapsed = time.monotonic() - started
    if result.testsRun == 0:
        print("no test ran", file=sys.stderr)
    print(f"integration: {elapsed:.1f}s, {os.environ.get('APITOKEND_BUILD_DIR', 'build')}")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    sys.stdout.flush()
    return 1 if failed or result.testsRun == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
