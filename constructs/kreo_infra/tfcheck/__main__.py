"""``python -m kreo_infra.tfcheck``: the real Terraform on ``cdktf.out/``.

    python -m kreo_infra.tfcheck [validate|test|emulate] [--outdir cdktf.out]
                                 [--only ENV] [--cache .cache/terraform]

``validate`` is tier 1, ``test`` runs tiers 1 and 2, ``emulate`` tier 3
(docs/testing.md). Prints what it used (CLI, plugins, registry), each stack's
result and time, and what it did not check and why. Exit 1 when a check
failed, 2 when there is no Terraform CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kreo_infra.tfcheck.plan import deployment_order
from kreo_infra.tfcheck.runner import StepResult, TierResults, run_tiers
from kreo_infra.tfcheck.toolchain import ToolchainError, discover


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kreo_infra.tfcheck", description=__doc__)
    parser.add_argument("tier", choices=["validate", "test", "emulate"], nargs="?", default="test")
    parser.add_argument("--outdir", type=Path, default=Path("cdktf.out"))
    parser.add_argument("--only", help="one environment (and the account's stacks)")
    parser.add_argument("--cache", type=Path, default=Path(".cache/terraform"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    env = dict(os.environ)

    def say(message: str) -> None:
        print(message, flush=True)

    try:
        toolchain = discover(env, args.cache.resolve())
    except ToolchainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    say(toolchain.describe())
    if args.tier == "emulate":
        from kreo_infra.tfcheck.emulator import run_emulation

        return run_emulation(args.outdir, toolchain, env, args.cache.resolve(), say, args.only)

    order = deployment_order(args.outdir, args.only)
    results = run_tiers(
        args.outdir,
        order.chains,
        toolchain,
        env,
        args.cache.resolve(),
        mock=args.tier == "test",
        jobs=args.jobs,
        progress=lambda m: say(f"  tier 2: {m}"),
    )
    say(report(results))
    return 1 if results.failed else 0


def report(results: TierResults) -> str:
    """What each tier found, what it did not check, and why."""
    lines = ["", "# tier 1: terraform validate"]
    for name, result in results.validated.items():
        lines.append(_line(name, result))
    if results.tested:
        lines += ["", "# tier 2: terraform test (mock providers, deployment order, re-plan)"]
        for name, result in results.tested.items():
            lines.append(_line(name, result))
    transformed = [p for p in results.prepared.values() if p.compat and p.compat.changed]
    if transformed:
        lines += ["", "# not checked: what the compatibility transform changed (docs/testing.md)"]
        for item in transformed:
            assert item.compat is not None
            lines.append(f"{item.stack}:")
            lines += [f"  {line}" for line in item.compat.lines()]
    verdict = "FAILED" if results.failed else "ok"
    lines += ["", f"{verdict} in {results.seconds:.0f}s"]
    return "\n".join(lines)


def _line(name: str, result: StepResult) -> str:
    if result.skipped:
        return f"{name}: not checked - {result.skipped}"
    status = "ok" if result.ok else "FAILED"
    extra = f", {result.applied} resources" if result.applied else ""
    out = [f"{name}: {status} ({result.seconds:.1f}s{extra})"]
    out += [f"  {error}" for error in result.errors]
    out += [f"  second plan not empty: {change}" for change in result.changes]
    out += [f"  not counted (null vs schema default): {change}" for change in result.allowed]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
