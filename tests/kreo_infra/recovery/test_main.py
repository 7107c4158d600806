"""``python -m kreo_infra.recovery drill|sweep``: the report, the row, exit 0/1/2, one line
on stderr; against a stubbed RDS API in the DR region (botocore's Stubber: no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from kreo_infra.config import EnvironmentConfig, load_environment
from kreo_infra.recovery import __main__ as cli
from kreo_infra.recovery.__main__ import DEFAULT_ENVIRONMENT, STEPS, TABLE_HEADER, main, table_row
from kreo_infra.recovery.drill import DRILL_PREFIX
from tests.conftest import CONFIG_DIR, PROJECT_ROOT

CONFIG = load_environment(CONFIG_DIR, DEFAULT_ENVIRONMENT)
SOURCE = f"{CONFIG.stack_prefix}-postgres"
BACKUPS = f"arn:aws:rds:{CONFIG.dr_region}:111122223333:auto-backup:ab-abc123"
SUBNET_GROUP = "kreo-drill-subnets"
GROUPS = ("sg-0123456789abcdef0", "sg-0fedcba9876543210")
ENVIRON = {"KREO_CONFIG_DIR": str(CONFIG_DIR)}


class Rds:
    """The one RDS client the command may create, stubbed: :attr:`regions` records
    every region it was asked for."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "rds",
            region_name=CONFIG.dr_region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.stub = Stubber(self.client)
        self.regions: list[str] = []

    def __call__(self, region: str) -> Any:
        self.regions.append(region)
        return self.client


@pytest.fixture
def rds(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(cli, "wait_delay", 0)  # poll at once
    fake = Rds()
    with fake.stub:
        yield fake
        fake.stub.assert_no_pending_responses()
    # Only the DR region: with the primary region down it is all there is.
    assert set(fake.regions) <= {CONFIG.dr_region}


def drill(rds: Rds | None, tmp_path: Path, *extra: str, environ: dict[str, str] = ENVIRON) -> int:
    argv = [
        "drill",
        *("--subnet-group", SUBNET_GROUP),
        *("--security-groups", ",".join(GROUPS)),
        *("--report", str(tmp_path / "out" / "report.json")),
        *extra,
    ]
    return main(argv, rds, environ)


def report(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "out" / "report.json").read_text())


def expect_backups(rds: Rds, *, found: bool = True) -> None:
    latest = datetime.now(UTC) - timedelta(minutes=7)
    entries = [
        {
            "DBInstanceAutomatedBackupsArn": BACKUPS,
            "DBInstanceIdentifier": SOURCE,
            "Region": CONFIG.region,
            "Status": "replicating",
            "RestoreWindow": {"EarliestTime": latest - timedelta(days=7), "LatestTime": latest},
        }
    ]
    rds.stub.add_response(
        "describe_db_instance_automated_backups",
        {"DBInstanceAutomatedBackups": entries if found else []},
        {"DBInstanceIdentifier": SOURCE},
    )


def expect_restore(rds: Rds) -> None:
    rds.stub.add_response(
        "restore_db_instance_to_point_in_time",
        {"DBInstance": {"DBInstanceIdentifier": "x"}},
        {
            "SourceDBInstanceAutomatedBackupsArn": BACKUPS,
            "TargetDBInstanceIdentifier": ANY,
            "UseLatestRestorableTime": True,
            "DBInstanceClass": "db.t3.medium",
            "DBSubnetGroupName": SUBNET_GROUP,
            "VpcSecurityGroupIds": list(GROUPS),
            "MultiAZ": False,
            "PubliclyAccessible": False,
            "DeletionProtection": False,
            "EnableIAMDatabaseAuthentication": True,
            "CopyTagsToSnapshot": False,
            "Tags": ANY,
        },
    )


def expect_status(rds: Rds, status: str, **extra: Any) -> None:
    rds.stub.add_response(
        "describe_db_instances",
        {"DBInstances": [{"DBInstanceIdentifier": "x", "DBInstanceStatus": status, **extra}]},
    )


def expect_teardown(rds: Rds, name: Any = ANY) -> None:
    rds.stub.add_response(
        "delete_db_instance",
        {"DBInstance": {"DBInstanceIdentifier": "x"}},
        {"DBInstanceIdentifier": name, "SkipFinalSnapshot": True, "DeleteAutomatedBackups": True},
    )
    rds.stub.add_client_error(
        "describe_db_instances", service_error_code="DBInstanceNotFound", http_status_code=404
    )


def test_a_passing_drill_writes_its_report_and_prints_its_row(
    rds: Rds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_backups(rds)
    expect_restore(rds)
    expect_status(rds, "creating")
    expect_status(rds, "available")
    expect_status(rds, "available", StorageEncrypted=True)
    expect_teardown(rds)

    assert drill(rds, tmp_path) == 0
    written = report(tmp_path)
    assert written["passed"] is True
    assert written["failure"] is None
    assert (written["environment"], written["region"]) == (CONFIG.name, CONFIG.dr_region)
    assert written["source"] == SOURCE
    assert written["target"].startswith(f"{DRILL_PREFIX}{SOURCE}-")
    assert list(written["steps"]) == list(STEPS)
    assert 7 * 60 <= written["replication_lag_seconds"] < 8 * 60
    out, err = capsys.readouterr()
    assert out == table_row(written) + "\n"
    assert out.endswith("| passed |\n")
    assert err == ""
    assert rds.regions == [CONFIG.dr_region]


@pytest.mark.parametrize(
    ("setup", "failure"),
    [
        ("unencrypted", "is not encrypted"),
        ("slow", "Max attempts exceeded"),
        ("denied", "AccessDenied"),
    ],
)
def test_a_failed_drill_is_torn_down_and_exits_1_with_its_report(
    rds: Rds, tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, failure: str
) -> None:
    expect_backups(rds)
    extra: tuple[str, ...] = ()
    if setup == "denied":
        rds.stub.add_client_error(
            "restore_db_instance_to_point_in_time",
            service_error_code="AccessDenied",
            http_status_code=403,
        )
        rds.stub.add_client_error(
            "delete_db_instance", service_error_code="DBInstanceNotFound", http_status_code=404
        )
    else:
        expect_restore(rds)
        if setup == "slow":  # one poll allowed: still creating
            extra = ("--max-wait-minutes", "1")
            expect_status(rds, "creating")
        else:
            expect_status(rds, "available")
            expect_status(rds, "available", StorageEncrypted=False)
        expect_teardown(rds)

    assert drill(rds, tmp_path, *extra) == 1
    written = report(tmp_path)
    assert written["passed"] is False
    assert failure in written["failure"]
    assert "teardown" in written["steps"]
    out, err = capsys.readouterr()
    assert out.endswith("| failed |\n")
    assert len(err.splitlines()) == 1
    assert err.startswith("error: drill failed: ")
    assert failure in err


def test_no_replicated_backups_fails_before_any_restore(
    rds: Rds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_backups(rds, found=False)

    assert drill(rds, tmp_path) == 1
    written = report(tmp_path)
    assert list(written["steps"]) == ["find-backups"]
    assert written["replication_lag_seconds"] is None
    err = capsys.readouterr().err
    assert err.startswith(f"error: drill failed: no replicated automated backups of {SOURCE} ")
    assert len(err.splitlines()) == 1


def test_the_summary_gets_the_table(rds: Rds, tmp_path: Path) -> None:
    expect_backups(rds, found=False)
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")

    assert drill(rds, tmp_path, "--summary", str(summary)) == 1
    lines = summary.read_text().splitlines()
    assert lines[:3] == ["before", "### Recovery drill: failed", ""]
    assert lines[3] == TABLE_HEADER
    assert lines[4].count("---") == TABLE_HEADER.count("|") - 1
    assert lines[5] == table_row(report(tmp_path))


def test_the_source_and_instance_class_can_be_named(rds: Rds, tmp_path: Path) -> None:
    rds.stub.add_response(
        "describe_db_instance_automated_backups",
        {"DBInstanceAutomatedBackups": []},
        {"DBInstanceIdentifier": "other-db"},
    )
    assert drill(rds, tmp_path, "--source", "other-db", "--instance-class", "db.m7g.large") == 1
    assert report(tmp_path)["instance_class"] == "db.m7g.large"


@pytest.mark.parametrize(
    ("argv", "environ", "problem"),
    [
        (["--subnet-group", ""], {}, "--subnet-group: the drill network's DB subnet group"),
        (["--security-groups", ""], {}, "--security-groups: at least one security group id"),
        (["--security-groups", "sg-1,default"], {}, "--security-groups: 'sg-1' is not a"),
        (["--source", "kreo--x"], {}, "--source: 'kreo--x' is not a DB instance identifier"),
        (["--region", CONFIG.region], {}, f"--region: {CONFIG.region} is {CONFIG.name}'s own"),
        (["--region", "moon-1"], {}, "--region: 'moon-1' is not an AWS region"),
        (["--max-wait-minutes", "0"], {}, "--max-wait-minutes: at least 1"),
        (["--nope"], {}, "unrecognized arguments: --nope"),
        ([], {"KREO_ENVIRONMENTS": "a,b"}, "KREO_ENVIRONMENTS: name one environment, not a, b"),
        ([], {"KREO_ENVIRONMENTS": "nope"}, "unknown environment 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_calls_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    environ: dict[str, str],
    problem: str,
) -> None:
    never = Rds()
    assert drill(never, tmp_path, *argv, environ={**ENVIRON, **environ}) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("error: ")
    assert problem in captured.err
    assert never.regions == []
    assert not (tmp_path / "out").exists()


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([], Rds(), ENVIRON) == 2
    assert capsys.readouterr().err.startswith("error: the following arguments are required")


def test_an_environment_without_dr_copies_has_nothing_to_drill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], configs: list[EnvironmentConfig]
) -> None:
    assert CONFIG.backup.copy_to_dr_region  # the default: production's backups
    local = [c for c in configs if not c.backup.copy_to_dr_region]
    if not local:
        pytest.skip("every environment copies its backups to its DR region")
    for config in local:
        environ = {**ENVIRON, "KREO_ENVIRONMENTS": config.name}
        for command in (["sweep"], ["drill"]):
            assert main(command, Rds(), environ) == 2
            err = capsys.readouterr().err
            assert err == (
                f"error: {config.name} replicates no backups to {config.dr_region} "
                "(backup.copy_to_dr_region: false): nothing to drill\n"
            )


def test_sweep_deletes_old_drill_instances_only(
    rds: Rds, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    old = f"{DRILL_PREFIX}{SOURCE}-202601010000"
    rds.stub.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {"DBInstanceIdentifier": SOURCE, "InstanceCreateTime": now - timedelta(days=9)},
                {"DBInstanceIdentifier": old, "InstanceCreateTime": now - timedelta(hours=30)},
            ]
        },
    )
    expect_teardown(rds, old)
    assert main(["sweep"], rds, ENVIRON) == 0
    assert capsys.readouterr().out == f"deleted {old}\n"

    rds.stub.add_response(
        "describe_db_instances",
        {"DBInstances": [{"DBInstanceIdentifier": old, "InstanceCreateTime": now}]},
    )
    assert main(["sweep", "--older-than-hours", "0.5"], rds, ENVIRON) == 0
    assert capsys.readouterr().out == "no drill instance older than 0.5 h\n"


def test_a_failed_sweep_is_one_line(rds: Rds, capsys: pytest.CaptureFixture[str]) -> None:
    rds.stub.add_client_error("describe_db_instances", service_error_code="AccessDenied")
    assert main(["sweep"], rds, ENVIRON) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: sweep failed: ")
    assert "AccessDenied" in err
    assert len(err.splitlines()) == 1


def test_drills_md_records_the_rows_the_drill_prints() -> None:
    drills = (PROJECT_ROOT / "docs" / "runbooks" / "drills.md").read_text()
    assert f"\n{TABLE_HEADER}\n" in drills
    runbook = (PROJECT_ROOT / "docs" / "runbooks" / "disaster-recovery.md").read_text()
    assert "## Drill (quarterly)" in runbook
    for mention in ("make recovery-drill", "recovery-drill.yml", "drills.md"):
        assert mention in runbook


def test_the_module_runs_without_cdktf() -> None:
    """The drill starts in a second: neither cdktf nor jsii may be imported."""
    script = (
        "import sys\n"
        "from kreo_infra.recovery.__main__ import main\n"
        "heavy = {'cdktf', 'jsii', 'constructs', 'cdktf_cdktf_provider_aws'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"

    bad = subprocess.run(
        [sys.executable, "-m", "kreo_infra.recovery", "drill", "--security-groups", "sg-1"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("KREO_")},
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr == (
        "error: --subnet-group: the drill network's DB subnet group is required\n"
    )
