"""main.py: bad input is one line on stderr, exit 2, no traceback, nothing written.

These call main.py's ``main()`` in this interpreter, with the arguments,
environment and working directory a fresh run would have: an interpreter per
call cost ~1 s each and proved nothing more. One test runs the script in a
fresh interpreter (the exit status, and that config errors come before cdktf).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig, load_environments
from kreo_infra.config.loader import parent_of
from tests.conftest import (
    CONFIG_DIR,
    ENVIRONMENT_NAMES,
    OWN_ENVIRONMENT_NAMES,
    PROJECT_ROOT,
    RECOVERY_ENVIRONMENT_NAMES,
)


@functools.cache
def main_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kreo_main", PROJECT_ROOT / "main.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``main.py args`` with ``env`` added, in ``tmp_path``: its exit status and output."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, {"CDKTF_OUTDIR": str(tmp_path / "cdktf.out"), **env}),
        contextlib.chdir(tmp_path),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        status = main_module().main(list(args))
    return subprocess.CompletedProcess(["main.py", *args], status, out.getvalue(), err.getvalue())


def test_the_script_reports_bad_config_before_loading_cdktf(tmp_path: Path) -> None:
    """As ``cdktf synth`` runs it: a fresh interpreter, exit status 2, one line, and
    neither cdktf nor a provider package imported to get there."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    broken = target / f"{ENVIRONMENT_NAMES[0]}.yaml"
    broken.write_text(broken.read_text() + "\nsurprise: true\n")
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['main.py']\n"
        "try:\n"
        f"    runpy.run_path({str(PROJECT_ROOT / 'main.py')!r}, run_name='__main__')\n"
        "finally:\n"
        "    heavy = {'cdktf', 'jsii', 'cdktf_cdktf_provider_aws'} & set(sys.modules)\n"
        "    print(f'loaded: {sorted(heavy)}', file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False,
        cwd=tmp_path, env={**os.environ, "KREO_CONFIG_DIR": str(target),
                           "CDKTF_OUTDIR": str(tmp_path / "cdktf.out")},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: config/{ENVIRONMENT_NAMES[0]}.yaml: surprise: unknown key\nloaded: []\n"
    )
    assert not (tmp_path / "cdktf.out").exists()


LAYERS = (
    "base", "network", "edge", "cluster", "data", "platform", "app", "backup", "observability",
)  # fmt: skip
"""An environment's layers in deployment order, spelled out."""


def delegations() -> list[tuple[EnvironmentConfig, EnvironmentConfig]]:
    """``(parent, child)``: an environment whose zone is delegated from another's (one
    of its own: a recovery environment serves the recovered environment's zone)."""
    configs = load_environments(CONFIG_DIR)
    pairs = [(parent, c) for c in configs if (parent := parent_of(c, configs)) is not None]
    assert pairs, "no environment's zone is delegated from another's: nothing to order"
    return pairs


def bootstraps() -> list[str]:
    """Every account's bootstrap, the apex owner's (the registry's account) first: one
    per environment of its own (a recovery environment's account is the recovered one's)."""
    configs = [c for c in load_environments(CONFIG_DIR) if c.recovery_of is None]
    owner = [c for c in configs if c.dns.domain == c.dns.apex]
    return [f"{c.stack_prefix}-bootstrap" for c in owner + [c for c in configs if c not in owner]]


def test_account_ids_for_the_workflows(tmp_path: Path, env_name: str) -> None:
    result = run_main(
        tmp_path, "--account-id", KREO_CONFIG_DIR=str(CONFIG_DIR), KREO_ENVIRONMENTS=env_name
    )
    assert result.returncode == 0
    (config,) = load_environments(CONFIG_DIR, [env_name])
    assert result.stdout == f"{config.account_id}\n"


@pytest.fixture
def broken_config(tmp_path: Path, env_name: str) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    broken = target / f"{env_name}.yaml"
    broken.write_text(broken.read_text() + "\nsurprise: true\n")
    return target


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {expected}\n"
    assert "Traceback" not in result.stderr


def test_bad_config_file(tmp_path: Path, broken_config: Path, env_name: str) -> None:
    result = run_main(tmp_path, KREO_CONFIG_DIR=str(broken_config))
    assert_one_line_exit_2(result, f"config/{env_name}.yaml: surprise: unknown key")
    assert not (tmp_path / "cdktf.out").exists()


def edited_config(tmp_path: Path, stem: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of config/ with ``change`` applied to the parsed ``<stem>.yaml``."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    path = target / f"{stem}.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    change(data)
    path.write_text(yaml.safe_dump(data))
    return target


def test_an_add_on_without_a_pin(tmp_path: Path) -> None:
    """The registry (kreo_infra/platform/addons) names an add-on the defaults do
    not pin: a config error, before cdktf."""
    config_dir = edited_config(
        tmp_path, "defaults", lambda d: d["platform"]["charts"].pop("external-dns")
    )
    result = run_main(tmp_path, KREO_CONFIG_DIR=str(config_dir))
    assert_one_line_exit_2(
        result,
        "config/defaults.yaml: platform.charts.external-dns: pin a chart version for the "
        "add-on external-dns (kreo_infra/platform/addons/external_dns.py)",
    )
    assert not (tmp_path / "cdktf.out").exists()


def test_a_pin_without_an_add_on(tmp_path: Path, env_name: str) -> None:
    """A pin no add-on uses would be ignored silently: the file that spells it is named,
    with its key, even when another environment is the one selected."""
    from kreo_infra.platform.addons import addon_names

    pin = {"repository": "https://example.org/charts", "chart": "extra", "version": "1.0.0"}
    config_dir = edited_config(
        tmp_path, env_name, lambda d: d.setdefault("platform", {}).update(charts={"extra": pin})
    )
    expected = (
        f"config/{env_name}.yaml: platform.charts.extra: no add-on of that name "
        f"(kreo_infra/platform/addons/); the add-ons are {', '.join(addon_names())}"
    )
    result = run_main(tmp_path, "--check", KREO_CONFIG_DIR=str(config_dir))
    assert_one_line_exit_2(result, expected)
    other = next(name for name in ENVIRONMENT_NAMES if name != env_name)
    result = run_main(tmp_path, "--check", KREO_CONFIG_DIR=str(config_dir), KREO_ENVIRONMENTS=other)
    assert_one_line_exit_2(result, expected)


def test_a_stray_pin_in_the_defaults_is_the_defaults_fault(tmp_path: Path) -> None:
    pin = {"repository": "https://example.org/charts", "chart": "extra", "version": "1.0.0"}
    config_dir = edited_config(
        tmp_path, "defaults", lambda d: d["platform"]["charts"].update(extra=pin)
    )
    result = run_main(tmp_path, "--check", KREO_CONFIG_DIR=str(config_dir))
    assert result.returncode == 2
    assert result.stderr.startswith("error: config/defaults.yaml: platform.charts.extra: ")


def test_unknown_environment(tmp_path: Path) -> None:
    result = run_main(tmp_path, KREO_CONFIG_DIR=str(CONFIG_DIR), KREO_ENVIRONMENTS="prod")
    assert_one_line_exit_2(
        result,
        f"{CONFIG_DIR}: unknown environment 'prod'; "
        f"known environments: {', '.join(sorted(ENVIRONMENT_NAMES))}",
    )
    assert not (tmp_path / "cdktf.out").exists()


def test_check_only_validates(tmp_path: Path) -> None:
    result = run_main(tmp_path, "--check", KREO_CONFIG_DIR=str(CONFIG_DIR))
    expected = f"config ok: {', '.join(ENVIRONMENT_NAMES)}\n"
    assert (result.returncode, result.stdout) == (0, expected)
    assert not (tmp_path / "cdktf.out").exists()


def test_environment_selection(tmp_path: Path, env_name: str) -> None:
    result = run_main(
        tmp_path, "--check", KREO_CONFIG_DIR=str(CONFIG_DIR), KREO_ENVIRONMENTS=env_name
    )
    assert result.stdout == f"config ok: {env_name}\n"


def test_stacks_lists_an_environments_stacks_in_deployment_order(
    tmp_path: Path, env_name: str
) -> None:
    result = run_main(
        tmp_path, "--stacks", KREO_CONFIG_DIR=str(CONFIG_DIR), KREO_ENVIRONMENTS=env_name
    )
    assert result.returncode == 0
    assert result.stdout.split() == [f"kreo-{env_name}-{layer}" for layer in LAYERS]
    assert not (tmp_path / "cdktf.out").exists()


def test_stacks_of_one_phase(tmp_path: Path, env_name: str) -> None:
    def phase(name: str) -> list[str]:
        result = run_main(
            tmp_path, "--stacks", "--phase", name,
            KREO_CONFIG_DIR=str(CONFIG_DIR), KREO_ENVIRONMENTS=env_name,
        )  # fmt: skip
        assert result.returncode == 0
        return result.stdout.split()

    # AWS APIs only, then what needs the private cluster API (and what reads it).
    assert phase("infrastructure") == [f"kreo-{env_name}-{layer}" for layer in LAYERS[:5]]
    assert phase("workloads") == [f"kreo-{env_name}-{layer}" for layer in LAYERS[5:]]
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
    assert stacks[: len(OWN_ENVIRONMENT_NAMES)] == bootstraps()
    for parent, child in delegations():
        assert stacks.index(f"{parent.stack_prefix}-edge") < stacks.index(
            f"{child.stack_prefix}-edge"
        )


def test_first_deploy_order_of_a_fresh_account(tmp_path: Path) -> None:
    result = run_main(tmp_path, "--first-deploy", KREO_CONFIG_DIR=str(CONFIG_DIR))
    assert result.returncode == 0
    steps = result.stdout.splitlines()
    stacks = [s for s in steps if not s.startswith("#")]
    # Every account's bootstrap first, the registry's (the apex owner's) first of all.
    assert stacks[: len(OWN_ENVIRONMENT_NAMES)] == bootstraps()
    for parent, child in delegations():
        # The child's zone is delegated from the parent's: the parent's edge first.
        assert stacks.index(f"{parent.stack_prefix}-edge") < stacks.index(
            f"{child.stack_prefix}-edge"
        )
        # The child rehearses: every other stack of the parent after the child's.
        assert stacks.index(f"{child.stack_prefix}-observability") < stacks.index(
            f"{parent.stack_prefix}-base"
        )
    # Every environment's bootstrap and layers, and the repositories' GitHub settings;
    # a recovery environment is deployed in a disaster only, by its runbook.
    own = OWN_ENVIRONMENT_NAMES
    assert len(stacks) == len(set(stacks)) == len(own) * (1 + len(LAYERS)) + 1
    assert stacks.index("kreo-github") == len(own)
    for env in RECOVERY_ENVIRONMENT_NAMES:
        assert not [step for step in stacks if step.startswith(f"kreo-{env}-")]
        assert f"# set the secret values of {env} (make preflight)" not in steps
    # Secret values are set between each environment's two phases.
    for env in own:
        note = steps.index(f"# set the secret values of {env} (make preflight)")
        assert steps.index(f"kreo-{env}-data") < note < steps.index(f"kreo-{env}-platform")
    # The GitHub settings (the pinned OIDC subjects) before any image is pushed, and
    # images are pushed (to the registry's repositories) before any environment.
    github = steps.index("kreo-github")
    assert "push the images" in steps[github + 1]
    assert stacks[len(own) :] == [s for s in steps[github:] if not s.startswith("#")]


def test_make_plan_refuses_an_unknown_stack(tmp_path: Path, env_name: str) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(PROJECT_ROOT), "plan", f"ENV={env_name}",
         "STACK=nonsense", "VENV_STAMP=", "NODE_STAMP="],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"unknown stack kreo-{env_name}-nonsense" in result.stderr


def test_parent_zone_roles_for_the_makefile(tmp_path: Path) -> None:
    """The role an edge stack's parent-zone profile names: the reader for plans, the
    delegation role for applies; nothing for a zone delegated from no other account."""
    for parent, child in delegations():
        for access, role in (
            ("reader", child.dns_reader_role),
            ("delegation", child.dns_delegation_role),
        ):
            result = run_main(
                tmp_path,
                "--parent-zone-role",
                access,
                KREO_CONFIG_DIR=str(CONFIG_DIR),
                KREO_ENVIRONMENTS=child.name,
            )
            assert result.stdout == f"arn:aws:iam::{parent.account_id}:role/{role}\n"
        alone = run_main(
            tmp_path,
            "--parent-zone-role",
            "reader",
            KREO_CONFIG_DIR=str(CONFIG_DIR),
            KREO_ENVIRONMENTS=parent.name,
        )
        assert (alone.returncode, alone.stdout) == (0, "")
    bad = run_main(tmp_path, "--parent-zone-role", "admin", KREO_CONFIG_DIR=str(CONFIG_DIR))
    assert_one_line_exit_2(bad, "--parent-zone-role: use reader or delegation")
