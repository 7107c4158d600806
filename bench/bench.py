"""make bench: synthesis and the suite against the eager provider import.

Measured in one run, each in a fresh interpreter so nothing is cached in memory:

1. **eager import**: cdktf and every provider package imported the packages'
   own way (``KREO_EAGER_PROVIDERS=1``): every resource module, the old floor;
2. **lazy import**: the same packages through kreo_infra.lazy_providers, alone
   and with the app's own modules (which import the resource modules it uses);
3. **synth**: ``python main.py`` (what ``cdktf synth`` runs) for every
   environment, both ways, and for one environment; the two full trees must be
   byte-identical, or the bench fails;
4. **the suite**: ``pytest`` wall time, split by the ``kreo-timings`` line the
   suite prints (provider import, synthesis, checkov, chart rendering, the rest;
   Terraform's tiers run beside them in the background).

Wall time, and peak RSS of the whole process tree (Python plus the jsii Node
process) sampled every 50 ms. Runs 1 to 3 are repeated (median reported).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "constructs"))

from kreo_infra.config import load_environments  # noqa: E402
from kreo_infra.lazy_providers import DISABLE_VARIABLE, PROVIDER_PACKAGES  # noqa: E402

IMPORT_PROVIDERS = "import cdktf, " + ", ".join(PROVIDER_PACKAGES)
LAZY = "from kreo_infra import lazy_providers; lazy_providers.install(); "
LAZY_CHECK = (
    "; import sys; loaded = [m for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.')"
    " and m.count('.') == 1]; assert len(loaded) < 300, f'{len(loaded)} AWS modules: not lazy'"
)
"""Appended to the lazy probes: they must not have imported the whole AWS package."""
EAGER = {DISABLE_VARIABLE: "1"}

TARGETS = {
    "synth / eager import, wall": 0.6,
    "synth / eager import, peak RSS": 0.6,
    "one more environment, seconds": 3.0,
    "suite / eager import, wall": 2.0,
}
"""Issue 20's targets (docs/performance.md); the bench reports, it does not fail on them."""


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_rss_mb: float


CLEARED = (DISABLE_VARIABLE, "KREO_ENVIRONMENTS", "KREO_CONFIG_DIR", "CDKTF_OUTDIR")
"""Variables of the caller's shell that would change what a run measures."""


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[Sample, str]:
    """Run ``argv`` to completion; wall time and the peak summed RSS of its process tree."""
    environ = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environ |= {"PYTHONPATH": str(ROOT / "constructs"), **(env or {})}
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        start = time.perf_counter()
        # Output to a file, not a pipe: a long pytest log would fill the pipe and stall.
        process = subprocess.Popen(
            argv, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT
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
        seconds = time.perf_counter() - start
        log.seek(0)
        output = log.read()
    if process.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({process.returncode}):\n{output[-3000:]}")
    if DISABLE_VARIABLE not in (env or {}) and "eagerly" in output:
        sys.exit(f"{' '.join(argv)} fell back to the eager import:\n{output[-3000:]}")
    return Sample(seconds, peak / 2**20), output


def median(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.seconds for s in samples),
        statistics.median(s.peak_rss_mb for s in samples),
    )


def repeated(times: int, argv: list[str], env: dict[str, str] | None = None) -> Sample:
    return median([measure(argv, env)[0] for _ in range(times)])


def synth(times: int, outdir: Path, env: dict[str, str] | None = None) -> Sample:
    """``python main.py`` into ``outdir`` (emptied before each run)."""
    samples = []
    for _ in range(times):
        shutil.rmtree(outdir, ignore_errors=True)
        samples.append(
            measure([sys.executable, "main.py"], {"CDKTF_OUTDIR": str(outdir), **(env or {})})[0]
        )
    return median(samples)


def differences(left: Path, right: Path) -> list[str]:
    """Files that differ or exist on one side only, recursively."""
    found: list[str] = []

    def walk(comparison: filecmp.dircmp, prefix: str) -> None:
        found.extend(prefix + n for n in comparison.left_only + comparison.right_only)
        found.extend(prefix + n for n in comparison.funny_files)
        _, mismatch, errors = filecmp.cmpfiles(
            comparison.left, comparison.right, comparison.common_files, shallow=False
        )
        found.extend(prefix + n for n in mismatch + errors)
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right), "")
    return found


def row(label: str, sample: Sample) -> str:
    return f"{label:46}{sample.seconds:>9.1f}s{sample.peak_rss_mb:>9.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of 1 to 3 (default 3)")
    parser.add_argument("--no-suite", action="store_true", help="skip the test-suite timing")
    args = parser.parse_args()
    python = sys.executable
    environments = [c.name for c in load_environments(ROOT / "config")]

    eager_import = repeated(args.repeat, [python, "-c", IMPORT_PROVIDERS], EAGER)
    lazy_import = repeated(args.repeat, [python, "-c", LAZY + IMPORT_PROVIDERS + LAZY_CHECK])
    app_import = repeated(args.repeat, [python, "-c", LAZY + "import kreo_infra.app" + LAZY_CHECK])
    with tempfile.TemporaryDirectory() as tmp:
        lazy_out, eager_out, one_out = (Path(tmp) / n for n in ("lazy", "eager", "one"))
        synth_eager = synth(args.repeat, eager_out, EAGER)
        synth_all = synth(args.repeat, lazy_out)
        synth_one = synth(args.repeat, one_out, {"KREO_ENVIRONMENTS": environments[0]})
        differ = differences(eager_out, lazy_out)
        files = sum(1 for p in lazy_out.rglob("*") if p.is_file())

    packages = f"cdktf + {len(PROVIDER_PACKAGES)} providers"
    print(f"{'':46}{'wall':>10}{'peak RSS':>12}")
    print(row(f"eager import ({packages}, every module)", eager_import))
    print(row(f"lazy import ({packages})", lazy_import))
    print(row("lazy import + the app's modules", app_import))
    print(row("synth, every environment, eager", synth_eager))
    print(row(f"synth, every environment ({len(environments)})", synth_all))
    print(row(f"synth, one environment ({environments[0]})", synth_one))
    print(f"(median of {args.repeat} runs each, fresh interpreter per run)")
    more = (synth_all.seconds - synth_one.seconds) / max(len(environments) - 1, 1)
    figures = {
        "synth / eager import, wall": synth_all.seconds / eager_import.seconds,
        "synth / eager import, peak RSS": synth_all.peak_rss_mb / eager_import.peak_rss_mb,
        "one more environment, seconds": more,
    }
    if not args.no_suite:
        suite, output = measure([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
        match = re.search(r"^kreo-timings: (.*)$", output, re.MULTILINE)
        split = match.group(1) if match else "(no kreo-timings line)"
        print(row("test suite (pytest)", suite))
        print(f"  {split}")
        figures["suite / eager import, wall"] = suite.seconds / eager_import.seconds
    for name, value in figures.items():
        verdict = "ok" if value <= TARGETS[name] else "OVER"
        print(f"{name:46}{value:>10.2f}   target <= {TARGETS[name]:g}: {verdict}")
    if differ:
        print(f"synthesized trees DIFFER eager vs lazy: {', '.join(differ[:10])}", file=sys.stderr)
        return 1
    print(f"synthesized trees byte-identical eager vs lazy ({files} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
