"""``python -m kreo_infra.preflight --env <env> [--stage account|workloads|all]``.

Prints one line per check (``ok   <check>: ...`` or ``FAIL <check>: ...``) and
exits 0 when all pass, 1 when any fails, 2 on a config error (one line on
stderr). Credentials come from the standard boto3 chain; the region from the
environment's config.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kreo_infra.config.loader import (
    ConfigError,
    available_environments,
    load_environment,
    load_environments,
)
from kreo_infra.config.models import EnvironmentConfig
from kreo_infra.preflight.checks import STAGES, ClientFactory, run_checks

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m kreo_infra.preflight",
        description="Read-only checks of the live AWS account before a deploy.",
    )
    parser.add_argument("--env", required=True, help="environment name (config/<env>.yaml)")
    parser.add_argument("--stage", choices=STAGES, default="all", help="which checks to run")
    parser.add_argument("--config-dir", type=Path, default=Path("config"))
    return parser.parse_args(argv)


def _parent_environment(config_dir: Path, config: EnvironmentConfig) -> str | None:
    """The environment whose ``dns.domain`` is this one's ``dns.delegate_from``: one of
    its own, which creates the zone (a recovery environment serves the same domain from
    that zone, and deploys no edge stack that would make it)."""
    for name in available_environments(config_dir):
        try:
            other = load_environment(config_dir, name)
        except ConfigError:
            continue
        if other.dns.domain == config.dns.delegate_from and other.recovery_of is None:
            return name
    return None


def _boto3_clients(region: str) -> ClientFactory:
    import boto3  # here: the checks module needs botocore only

    return boto3.session.Session(region_name=region).client


def main(argv: Sequence[str], client: ClientFactory | None = None) -> int:
    args = _arguments(argv)
    try:
        [config] = load_environments(args.config_dir, [args.env])
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parent = _parent_environment(args.config_dir, config) if config.dns.delegate_from else None
    results = run_checks(
        config, args.stage, client or _boto3_clients(config.region), parent_environment=parent
    )
    for result in results:
        print(result.line())
    return EXIT_FAILED if any(not r.ok for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
