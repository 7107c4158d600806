"""``python -m kreo_infra.recovery drill|sweep``: the recovery drill from a terminal or
the ``recovery-drill`` workflow (docs/runbooks/disaster-recovery.md, "Drill (quarterly)").

``drill --subnet-group <name> --security-groups <sg-…>[,<sg-…>]`` restores the
newest replicated automated backup of the environment's database into a
throwaway instance in the DR region, checks it, tears it down and writes the
JSON report (``--report``, default ``recovery-drill.json``). The subnet group
and security groups are arguments: the drill network's (production's backup
stack, in the DR region: outputs ``drill-subnet-group`` and
``drill-security-group-id``), not the environment's config. Without ``--source`` the
database is ``<stack_prefix>-postgres``; without ``--region`` the region is the
config's ``dr_region``. The environment is ``KREO_ENVIRONMENTS`` (one name;
default :data:`DEFAULT_ENVIRONMENT`) in ``KREO_CONFIG_DIR`` (default
``config``), as for main.py.

``sweep [--older-than-hours 24]`` deletes the drill instances an interrupted
drill left in the DR region.

Exit status: 0 when the drill passed (or the sweep ran), 1 when it failed (one
line on stderr; the drill's report is written all the same), 2 on bad input
(one line on stderr, nothing called). On stdout the drill prints its row of
docs/runbooks/drills.md (:data:`TABLE_HEADER`). Only the DR region's RDS API is
called: a real recovery has no primary region to ask. Credentials come from
the standard boto3 chain.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kreo_infra.config.loader import ConfigError, load_environments, parse_environment_list
from kreo_infra.config.models import EnvironmentConfig
from kreo_infra.recovery.drill import (
    WAIT_DELAY_SECONDS,
    DrillError,
    DrillReport,
    DrillSettings,
    new_report,
    run_drill,
    sweep,
)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

DEFAULT_ENVIRONMENT = "production"
"""The environment drilled when ``KREO_ENVIRONMENTS`` is unset: the one whose
backups the RTO is about."""

DEFAULT_MAX_WAIT_MINUTES = 240
"""A restore slower than the whole RTO (4 h) has failed the drill: stop waiting,
tear down, exit 1 (and stay inside the workflow job's timeout)."""

STEPS = ("find-backups", "restore-requested", "restore-available", "check", "teardown")
TABLE_HEADER = (
    "| date (UTC) | source | lag (min) | "
    + " | ".join(f"{step} (min)" for step in STEPS)
    + " | total (min) | result |"
)
"""The header of docs/runbooks/drills.md's table; the drill prints its row."""

RdsFactory = Callable[[str], Any]
"""Region -> RDS client."""

wait_delay = WAIT_DELAY_SECONDS
"""Seconds between two polls of the instance's status (the tests poll at once)."""

REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
DB_IDENTIFIER = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}(?<!-)$")
SUBNET_GROUP = re.compile(r"^[a-zA-Z0-9 ._-]{1,255}$")
SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")


class BadInput(Exception):
    """An argument or the environment's config rules the command out (one line)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2 like every other."""

    def error(self, message: str) -> Any:
        raise BadInput(message)


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = _Parser(
        prog="python -m kreo_infra.recovery",
        description="The recovery drill: restore production's replicated backups in the DR region.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    drill = commands.add_parser("drill", help="restore, check, time and tear down")
    drill.add_argument(
        "--subnet-group",
        default="",
        help="the drill network's DB subnet group (backup stack output drill-subnet-group)",
    )
    drill.add_argument(
        "--security-groups",
        default="",
        help="the drill network's security group ids, comma-separated "
        "(backup stack output drill-security-group-id)",
    )
    drill.add_argument(
        "--source", help="the database instance identifier (<stack_prefix>-postgres)"
    )
    drill.add_argument("--instance-class", default=DrillSettings.instance_class)
    drill.add_argument("--max-wait-minutes", type=int, default=DEFAULT_MAX_WAIT_MINUTES)
    drill.add_argument("--report", type=Path, default=Path("recovery-drill.json"))
    drill.add_argument("--summary", type=Path, help="append the table row as Markdown here")
    drill.add_argument("--region", help="default: the environment's dr_region")
    swept = commands.add_parser("sweep", help="delete what an interrupted drill left")
    swept.add_argument("--older-than-hours", type=float, default=24)
    swept.add_argument("--region", help="default: the environment's dr_region")
    return parser.parse_args(argv)


def _environment(environ: Mapping[str, str]) -> EnvironmentConfig:
    config_dir = Path(environ.get("KREO_CONFIG_DIR") or "config")
    names = parse_environment_list(environ.get("KREO_ENVIRONMENTS")) or [DEFAULT_ENVIRONMENT]
    if len(names) != 1:
        raise BadInput(f"KREO_ENVIRONMENTS: name one environment, not {', '.join(names)}")
    [config] = load_environments(config_dir, names)
    return config


def _region(args: argparse.Namespace, config: EnvironmentConfig) -> str:
    """The DR region: never the environment's own, which a region loss takes away."""
    region = args.region or config.dr_region
    if not REGION.match(region):
        raise BadInput(f"--region: {region!r} is not an AWS region")
    if region == config.region:
        raise BadInput(
            f"--region: {region} is {config.name}'s own region; the drill runs in the DR "
            f"region ({config.dr_region})"
        )
    if not config.backup.copy_to_dr_region:
        raise BadInput(
            f"{config.name} replicates no backups to {config.dr_region} "
            "(backup.copy_to_dr_region: false): nothing to drill"
        )
    return region


def _settings(args: argparse.Namespace, config: EnvironmentConfig) -> DrillSettings:
    source = args.source or f"{config.stack_prefix}-postgres"
    if not DB_IDENTIFIER.match(source):
        raise BadInput(f"--source: {source!r} is not a DB instance identifier")
    if not args.subnet_group:
        raise BadInput("--subnet-group: the drill network's DB subnet group is required")
    if not SUBNET_GROUP.match(args.subnet_group):
        raise BadInput(f"--subnet-group: {args.subnet_group!r} is not a DB subnet group name")
    groups = tuple(g for g in re.split(r"[\s,]+", args.security_groups) if g)
    if not groups:
        raise BadInput("--security-groups: at least one security group id (sg-…) is required")
    for group in groups:
        if not SECURITY_GROUP.match(group):
            raise BadInput(f"--security-groups: {group!r} is not a security group id")
    if args.max_wait_minutes < 1:
        raise BadInput("--max-wait-minutes: at least 1")
    return DrillSettings(
        source_identifier=source,
        subnet_group=args.subnet_group,
        security_group_ids=groups,
        instance_class=args.instance_class,
    )


def table_row(report: Mapping[str, Any]) -> str:
    """The report as a row of docs/runbooks/drills.md (minutes, one decimal)."""

    def minutes(seconds: float | None) -> str:
        return "-" if seconds is None else f"{seconds / 60:.1f}"

    steps = report["steps"]
    cells = [
        report["started"][:10],
        f"`{report['source']}`",
        minutes(report["replication_lag_seconds"]),
        *(minutes(steps.get(step)) for step in STEPS),
        minutes(report["total_seconds"]),
        "passed" if report["passed"] else "failed",
    ]
    return "| " + " | ".join(cells) + " |"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _boto3_rds(region: str) -> Any:
    import boto3  # here: a bad argument is reported before boto3 loads

    return boto3.session.Session(region_name=region).client("rds")


def _drill(
    args: argparse.Namespace, config: EnvironmentConfig, settings: DrillSettings, rds: Any
) -> int:
    report: DrillReport = new_report(settings, datetime.now(UTC))
    failure = None
    try:
        run_drill(
            rds,
            settings,
            report=report,
            wait_delay=wait_delay,
            max_attempts=-(-args.max_wait_minutes * 60 // WAIT_DELAY_SECONDS),
        )
    except (DrillError, BotoCoreError, ClientError) as error:
        failure = _one_line(error)
    written = {
        **report.as_dict(),
        "environment": config.name,
        "region": rds.meta.region_name,
        "instance_class": settings.instance_class,
        "failure": failure,
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    row = table_row(written)
    print(row)
    if args.summary:
        with args.summary.open("a", encoding="utf-8") as summary:
            summary.write(
                f"### Recovery drill: {'passed' if report.passed else 'failed'}\n\n"
                f"{TABLE_HEADER}\n|{' --- |' * (len(STEPS) + 5)}\n{row}\n\n"
                "Add the row to docs/runbooks/drills.md; the report is this run's artifact.\n"
            )
    if failure is not None:
        print(f"error: drill failed: {failure} (report: {args.report})", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _sweep(args: argparse.Namespace, rds: Any) -> int:
    try:
        swept = sweep(rds, older_than_hours=args.older_than_hours)
    except (DrillError, BotoCoreError, ClientError) as error:
        print(f"error: sweep failed: {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILED
    for name in swept:
        print(f"deleted {name}")
    if not swept:
        print(f"no drill instance older than {args.older_than_hours:g} h")
    return 0


def main(
    argv: Sequence[str],
    rds: RdsFactory | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    try:
        args = _arguments(argv)
        config = _environment(os.environ if environ is None else environ)
        region = _region(args, config)
        settings = _settings(args, config) if args.command == "drill" else None
    except (BadInput, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    client = (rds or _boto3_rds)(region)
    if settings is None:
        return _sweep(args, client)
    return _drill(args, config, settings, client)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
