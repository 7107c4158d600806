"""``python -m kreo_infra.review``: the synth report (``make review``).

    python -m kreo_infra.review [cdktf.out] [--base OTHER/cdktf.out] [--only ENV]
                                [--no-checkov] [--out FILE]

Markdown on stdout, progress on stderr. Exit status 3 when the change report
has a danger section (a stateful resource removed or replaced), 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kreo_infra.review.diff import compare
from kreo_infra.review.output import SynthOutput
from kreo_infra.review.report import render, security_posture

EXIT_DANGER = 3
SKIPS = Path("config/policy/checkov-skips.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kreo_infra.review", description=__doc__)
    parser.add_argument("outdir", nargs="?", default="cdktf.out", type=Path)
    parser.add_argument("--base", type=Path, help="another synth output to compare against")
    parser.add_argument("--no-checkov", action="store_true", help="skip the security posture")
    parser.add_argument("--skips", type=Path, default=SKIPS)
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument("--only", help="report one environment (and the account's stacks)")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"review: {message}", file=sys.stderr, flush=True)

    try:
        head = SynthOutput(args.outdir)
        base = SynthOutput(args.base) if args.base else None
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    changes = None
    if base is not None:
        progress(f"comparing {args.base} with {args.outdir}")
        changes = compare(base, head)
    posture = None if args.no_checkov else security_posture(head, args.skips, progress)
    text = render(head, posture=posture, changes=changes, progress=progress, only=args.only)
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return EXIT_DANGER if changes is not None and changes.dangers else 0


if __name__ == "__main__":
    sys.exit(main())
