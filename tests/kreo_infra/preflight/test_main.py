"""``python -m kreo_infra.preflight``: one line per check, exit 0/1/2, config errors in one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kreo_infra.config import EnvironmentConfig, load_environment
from kreo_infra.preflight.__main__ import main
from tests.conftest import CONFIG_DIR, PROJECT_ROOT
from tests.kreo_infra.preflight import FakeAccount, mocked_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mocked_aws(monkeypatch):
        yield


def account_for(env: str) -> tuple[EnvironmentConfig, FakeAccount]:
    config = load_environment(CONFIG_DIR, env)
    return config, FakeAccount(config).prepare()


def preflight(*args: str, account: FakeAccount | None = None) -> int:
    argv = [*args, "--config-dir", str(CONFIG_DIR)]
    return main(argv, account.client if account else None)


@pytest.mark.usefixtures("aws")
def test_every_check_passes(capsys: pytest.CaptureFixture[str]) -> None:
    _, account = account_for("staging")
    account.offer_addons()
    account.source_credential()

    assert preflight("--env", "staging", account=account) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   addon-versions",
        "ok   access-roles",
        "ok   zone-delegation",
        "ok   images",
        "ok   github-credential",
        "ok   secret-values",
    ]


@pytest.mark.usefixtures("aws")
def test_a_failing_check_exits_1_and_the_others_still_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, account = account_for("production")
    account.offer_addons()
    account.source_credential(None)

    assert preflight("--env", "production", "--stage", "account", account=account) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok   addon-versions: ")
    assert lines[-1].startswith(
        "FAIL github-credential: CodeBuild has no GitHub source credential in us-east-1; "
    )
    assert len(lines) == 4  # production's zone is not delegated: no zone-delegation check


@pytest.mark.usefixtures("aws")
def test_the_workloads_stage_checks_secrets_and_images(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, account = account_for("production")
    account.secretsmanager.create_secret(Name="kreo/production/extra")  # not in config: ignored

    assert preflight("--env", "production", "--stage", "workloads", account=account) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ok   secret-values: 12 secrets have a current value",
        "ok   images: 5 service images present (tag 1.0.0)",
    ]


@pytest.mark.usefixtures("aws")
def test_the_parent_environment_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_environment(CONFIG_DIR, "staging")
    account = FakeAccount(config)  # nothing deployed: no kreo.com zone

    assert preflight("--env", "staging", "--stage", "account", account=account) == 1
    zone = next(line for line in capsys.readouterr().out.splitlines() if "zone-delegation" in line)
    assert "(make deploy ENV=production STACK=edge, " in zone


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--env", "nope"], "unknown environment 'nope'; known environments: production, staging"),
        (["--env", "Prod"], "unknown environment 'Prod'"),
    ],
)
def test_an_unknown_environment_is_one_line(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preflight(*argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("error: ")
    assert problem in captured.err


def test_an_invalid_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    staging = config_dir / "staging.yaml"
    staging.write_text(staging.read_text() + "\nproject: Kreo\n")

    assert main(["--env", "staging", "--config-dir", str(config_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert "staging.yaml: project: " in err


def test_the_module_runs_without_cdktf() -> None:
    """Preflight must start in a second: neither cdktf nor jsii may be imported."""
    script = (
        "import sys\n"
        "from kreo_infra.preflight.__main__ import main\n"
        "heavy = {'cdktf', 'jsii', 'constructs', 'cdktf_cdktf_provider_aws'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"

    bad = subprocess.run(
        [sys.executable, "-m", "kreo_infra.preflight", "--env", "nope"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: config: unknown environment 'nope'")
    assert len(bad.stderr.splitlines()) == 1
