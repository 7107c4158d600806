"""make bench: what synthesis costs beyond loading the provider packages.

Measured in one run, each in a fresh interpreter so nothing is cached in memory:

1. the bare import of the three provider packages (aws, kubernetes, helm);
2. synthesizing every environment (``python main.py``, as ``cdktf synth`` runs it);
3. the test suite, split into provider import, synthesis, checkov and the rest
   (from the ``kreo-timings`` line the suite prints).

Wall time, and peak RSS of the whole process tree (Python plus the jsii Node
process) sampled every 50 ms. Runs 1 and 2 are repeated (median reported).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BARE_IMPORT = (
    "import cdktf_cdktf_provider_aws, cdktf_cdktf_provider_kubernetes, cdktf_cdktf_provider_helm"
)


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_rss_mb: float


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[Sample, str]:
    """Run ``argv`` to completion; wall time and the peak summed RSS of its process tree."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    root = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    output = process.stdout.read() if process.stdout else ""
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({process.returncode}):\n{output[-3000:]}")
    return Sample(seconds, peak / 2**20), output


def median(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.seconds for s in samples),
        statistics.median(s.peak_rss_mb for s in samples),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of 1 and 2 (default 3)")
    parser.add_argument("--no-suite", action="store_true", help="skip the test-suite timing")
    args = parser.parse_args()
    python = sys.executable

    bare = median([measure([python, "-c", BARE_IMPORT])[0] for _ in range(args.repeat)])
    synth_runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as outdir:
            synth_runs.append(measure([python, "main.py"], {"CDKTF_OUTDIR": outdir})[0])
    synth = median(synth_runs)

    print(f"{'':34}{'wall':>10}{'peak RSS':>12}")
    print(
        f"{'bare provider import (3 packages)':34}{bare.seconds:>9.1f}s{bare.peak_rss_mb:>9.0f} MB"
    )
    print(f"{'synth, every environment':34}{synth.seconds:>9.1f}s{synth.peak_rss_mb:>9.0f} MB")
    print(
        f"{'ratio synth / bare import':34}{synth.seconds / bare.seconds:>10.2f}"
        f"{synth.peak_rss_mb / bare.peak_rss_mb:>12.2f}"
    )
    print(f"(median of {args.repeat} runs each, fresh interpreter per run)")

    if not args.no_suite:
        suite, output = measure([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
        match = re.search(r"^kreo-timings: (.*)$", output, re.MULTILINE)
        split = match.group(1) if match else "(no kreo-timings line)"
        print(f"test suite: {suite.seconds:.1f}s wall, {suite.peak_rss_mb:.0f} MB peak; {split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
