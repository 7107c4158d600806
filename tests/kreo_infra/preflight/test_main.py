"""``python -m kreo_infra.preflight``: one line per check, exit 0/1/2, config errors in one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kreo_infra.config import EnvironmentConfig, load_environment, load_environments
from kreo_infra.preflight.__main__ import main
from tests.conftest import CONFIG_DIR, ENVIRONMENT_NAMES, PROJECT_ROOT
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
def test_every_check_passes(capsys: pytest.CaptureFixture[str], env_name: str) -> None:
    config, account = account_for(env_name)
    account.offer_addons()
    account.source_credential()

    assert preflight("--env", env_name, account=account) == 0
    lines = capsys.readouterr().out.splitlines()
    zone = ["ok   zone-delegation"] if config.dns.delegate_from else []
    assert [line.split(":")[0] for line in lines] == [
        "ok   addon-versions",
        "ok   access-roles",
        *zone,
        "ok   images",
        "ok   github-credential",
        *(["ok   restore-source"] if config.recovery_of else []),
        "ok   secret-values",
    ]


@pytest.mark.usefixtures("aws")
def test_a_failing_check_exits_1_and_the_others_still_run(
    capsys: pytest.CaptureFixture[str], env_name: str
) -> None:
    config, account = account_for(env_name)
    account.offer_addons()
    account.source_credential(None)

    assert preflight("--env", env_name, "--stage", "account", account=account) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok   addon-versions: ")
    (failed,) = [line for line in lines if not line.startswith("ok   ")]
    assert failed.startswith(
        f"FAIL github-credential: CodeBuild has no GitHub source credential in {config.region}; "
    )
    # Four checks, the zone-delegation check where the zone is delegated, the
    # restore source for a recovery (after the credential: the others still ran).
    assert len(lines) == 4 + bool(config.dns.delegate_from) + bool(config.recovery_of)


@pytest.mark.usefixtures("aws")
def test_the_workloads_stage_checks_secrets_and_images(
    capsys: pytest.CaptureFixture[str], env_name: str
) -> None:
    config, account = account_for(env_name)
    extra = f"{config.secrets_prefix}extra"
    account.secretsmanager.create_secret(Name=extra)  # not in config: ignored

    assert preflight("--env", env_name, "--stage", "workloads", account=account) == 0
    wanted = len(config.secrets.names) - len(config.generated_secrets)
    assert capsys.readouterr().out.splitlines() == [
        f"ok   secret-values: {wanted} secrets have a current value",
        f"ok   images: {len(config.services)} service images present "
        f"(tag {config.application.image_tag})",
    ]


@pytest.mark.usefixtures("aws")
def test_the_parent_environment_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    """Each delegated environment's FAIL line names the environment owning its parent zone
    (one of its own: a recovery environment serves the same domain, from that zone)."""
    configs = load_environments(CONFIG_DIR)
    parents = {c.dns.domain: c.name for c in configs if c.recovery_of is None}
    delegated = [c for c in configs if c.dns.delegate_from]
    assert delegated
    for config in delegated:
        account = FakeAccount(config)  # nothing deployed: no parent zone

        assert preflight("--env", config.name, "--stage", "account", account=account) == 1
        lines = capsys.readouterr().out.splitlines()
        zone = next(line for line in lines if "zone-delegation" in line)
        parent = parents[config.dns.delegate_from]
        assert f"(make deploy ENV={parent} STACK=edge, " in zone


@pytest.mark.usefixtures("aws")
def test_a_recovery_is_never_the_parent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recovery environment has its recovered environment's domain but makes no zone:
    whichever order the files are read in, the parent named is the one whose edge
    creates the zone."""
    from kreo_infra.preflight import __main__ as module

    configs = load_environments(CONFIG_DIR)
    by_name = {c.name: c for c in configs}
    cases = [
        (child, by_name[recovery.recovery_of], recovery)
        for recovery in configs
        if recovery.recovery_of is not None
        for child in configs
        if child.dns.delegate_from == by_name[recovery.recovery_of].dns.domain
    ]
    assert cases, (
        "no delegated zone whose parent zone is a recovered environment's: nothing to check"
    )
    for child, parent, recovery in cases:
        # The recovery read first: a lookup by domain alone would name it.
        first = [recovery.name, *(c.name for c in configs if c is not recovery)]
        monkeypatch.setattr(module, "available_environments", lambda _, names=first: names)
        preflight("--env", child.name, "--stage", "account", account=FakeAccount(child))
        lines = capsys.readouterr().out.splitlines()
        zone = next(line for line in lines if "zone-delegation" in line)
        assert f"(make deploy ENV={parent.name} STACK=edge, " in zone


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (
            ["--env", "nope"],
            f"unknown environment 'nope'; known environments: {', '.join(ENVIRONMENT_NAMES)}",
        ),
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


def test_an_invalid_config_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], env_name: str
) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    broken = config_dir / f"{env_name}.yaml"
    broken.write_text(broken.read_text() + "\nproject: Kreo\n")

    assert main(["--env", env_name, "--config-dir", str(config_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert f"{env_name}.yaml: project: " in err


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
