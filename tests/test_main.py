"""main.py: bad input is one line on stderr, exit 2, no traceback, nothing written.

These run main.py in a fresh interpreter; config errors are reported before
cdktf and the providers are imported, so each run takes a fraction of a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIG_DIR, PROJECT_ROOT


def run_main(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "CDKTF_OUTDIR": str(tmp_path / "cdktf.out"), **env},
    )


@pytest.fixture
def broken_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    staging = target / "staging.yaml"
    staging.write_text(staging.read_text() + "\nsurprise: true\n")
    return target


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {expected}\n"
    assert "Traceback" not in result.stderr


def test_bad_config_file(tmp_path: Path, broken_config: Path) -> None:
    result = run_main(tmp_path, KREO_CONFIG_DIR=str(broken_config))
    assert_one_line_exit_2(result, "config/staging.yaml: surprise: unknown key")
    assert not (tmp_path / "cdktf.out").exists()


def test_unknown_environment(tmp_path: Path) -> None:
    result = run_main(tmp_path, KREO_CONFIG_DIR=str(CONFIG_DIR), KREO_ENVIRONMENTS="prod")
    assert_one_line_exit_2(
        result,
        f"{CONFIG_DIR}: unknown environment 'prod'; known environments: production, staging",
    )
    assert not (tmp_path / "cdktf.out").exists()


def test_check_only_validates(tmp_path: Path) -> None:
    result = run_main(tmp_path, "--check", KREO_CONFIG_DIR=str(CONFIG_DIR))
    assert (result.returncode, result.stdout) == (0, "config ok: production, staging\n")
    assert not (tmp_path / "cdktf.out").exists()


def test_environment_selection(tmp_path: Path) -> None:
    result = run_main(
        tmp_path, "--check", KREO_CONFIG_DIR=str(CONFIG_DIR), KREO_ENVIRONMENTS="production"
    )
    assert result.stdout == "config ok: production\n"


def test_stacks_lists_an_environments_stacks_in_deployment_order(tmp_path: Path) -> None:
    result = run_main(
        tmp_path, "--stacks", KREO_CONFIG_DIR=str(CONFIG_DIR), KREO_ENVIRONMENTS="staging"
    )
    assert result.returncode == 0
    assert result.stdout.split() == [
        f"kreo-staging-{layer}"
        for layer in (
            "base", "network", "edge", "cluster", "data", "platform", "app", "backup",
            "observability",
        )
    ]  # fmt: skip
    assert not (tmp_path / "cdktf.out").exists()


def test_stacks_of_one_phase(tmp_path: Path) -> None:
    def phase(name: str) -> list[str]:
        result = run_main(
            tmp_path, "--stacks", "--phase", name,
            KREO_CONFIG_DIR=str(CONFIG_DIR), KREO_ENVIRONMENTS="staging",
        )  # fmt: skip
        assert result.returncode == 0
        return result.stdout.split()

    # AWS APIs only, then what needs the private cluster API (and what reads it).
    assert phase("infrastructure") == [
        f"kreo-staging-{layer}" for layer in ("base", "network", "edge", "cluster", "data")
    ]
    assert phase("workloads") == [
        f"kreo-staging-{layer}" for layer in ("platform", "app", "backup", "observability")
    ]
    bad = run_main(tmp_path, "--stacks", "--phase", "all", KREO_CONFIG_DIR=str(CONFIG_DIR))
    assert_one_line_exit_2(bad, "--phase: use one of infrastructure, workloads")


def test_stacks_of_the_whole_account_in_an_order_a_fresh_account_accepts(
    tmp_path: Path,
) -> None:
    result = run_main(tmp_path, "--stacks", KREO_CONFIG_DIR=str(CONFIG_DIR))
    assert result.returncode == 0
    stacks = result.stdout.split()
    first = run_main(tmp_path, "--first-deploy", KREO_CONFIG_DIR=str(CONFIG_DIR))
    assert stacks == [s for s in first.stdout.splitlines() if not s.startswith("#")]
    assert stacks[0] == "kreo-bootstrap"
    assert stacks.index("kreo-production-edge") < stacks.index("kreo-staging-edge")


def test_first_deploy_order_of_a_fresh_account(tmp_path: Path) -> None:
    result = run_main(tmp_path, "--first-deploy", KREO_CONFIG_DIR=str(CONFIG_DIR))
    assert result.returncode == 0
    steps = result.stdout.splitlines()
    stacks = [s for s in steps if not s.startswith("#")]
    assert stacks[0] == "kreo-bootstrap"
    # Staging's zone is delegated from production's: production's edge first.
    assert stacks.index("kreo-production-edge") < stacks.index("kreo-staging-edge")
    # Staging rehearses: every other production stack after staging's.
    assert stacks.index("kreo-staging-observability") < stacks.index("kreo-production-base")
    assert len(stacks) == len(set(stacks)) == 1 + 2 * 9
    # Secret values are set between each environment's two phases.
    for env in ("staging", "production"):
        note = steps.index(f"# set the secret values of {env} (make preflight)")
        assert steps.index(f"kreo-{env}-data") < note < steps.index(f"kreo-{env}-platform")
    # Images are pushed (to the bootstrap's repositories) before any environment.
    assert steps.index("kreo-bootstrap") < 1 < steps.index("kreo-production-edge")
    assert "push the images" in steps[1]


def test_make_plan_refuses_an_unknown_stack(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(PROJECT_ROOT), "plan", "ENV=staging",
         "STACK=nonsense", "VENV_STAMP=", "NODE_STAMP="],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "unknown stack kreo-staging-nonsense" in result.stderr
