"""Finding Terraform and its plugins: mirrors, CLI config, registry, and the harness's rc."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kreo_infra.tfcheck.toolchain import (
    ToolchainError,
    cli_config_text,
    discover,
    os_arch,
    scan_mirror,
)

TERRAFORM = shutil.which("terraform")
MIRROR_HOST = "providers.example"
"""A mirror's first level is the registry host; the harness takes any."""
needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason="no terraform on PATH")


def unpacked(root: Path, name: str, version: str, arch: str | None = None) -> Path:
    path = root / MIRROR_HOST / "hashicorp" / name / version / (arch or os_arch())
    path.mkdir(parents=True)
    (path / f"terraform-provider-{name}_v{version}").write_text("")
    return root


def packed(root: Path, name: str, version: str) -> Path:
    path = root / MIRROR_HOST / "hashicorp" / name
    path.mkdir(parents=True, exist_ok=True)
    (path / f"terraform-provider-{name}_{version}_{os_arch()}.zip").write_text("")
    return root


def test_scan_unpacked_and_packed_layouts_newest_first(tmp_path: Path) -> None:
    unpacked(tmp_path, "aws", "5.9.0")
    unpacked(tmp_path, "aws", "5.100.0")
    packed(tmp_path, "helm", "3.1.1")
    assert scan_mirror(tmp_path) == {"aws": ["5.100.0", "5.9.0"], "helm": ["3.1.1"]}


def test_scan_ignores_other_platforms(tmp_path: Path) -> None:
    unpacked(tmp_path, "aws", "5.100.0", arch="windows_386")
    assert scan_mirror(tmp_path) == {}


def test_scan_of_a_missing_directory_is_empty(tmp_path: Path) -> None:
    assert scan_mirror(tmp_path / "nothing") == {}


def test_no_cli_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ToolchainError, match="KREO_TERRAFORM or put terraform"):
        discover({"PATH": str(tmp_path), "HOME": str(tmp_path)}, tmp_path / "cache")


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.path.dirname(TERRAFORM or ""), "HOME": str(tmp_path / "home"), **extra}


@needs_terraform
def test_mirror_from_the_environment_variable(tmp_path: Path) -> None:
    mirror = unpacked(tmp_path / "mirror", "aws", "5.100.0")
    toolchain = discover(env_for(tmp_path, KREO_TF_PLUGIN_MIRROR=str(mirror)), tmp_path / "c")
    assert toolchain.versions("aws") == ("5.100.0",)
    assert toolchain.sources == ("KREO_TF_PLUGIN_MIRROR",)
    assert not toolchain.registry
    assert toolchain.has("aws", "5.100.0")
    assert not toolchain.has("aws", "6.25.0")
    assert "terraform 1." in toolchain.describe()


@needs_terraform
def test_mirror_from_the_users_cli_config(tmp_path: Path) -> None:
    mirror = unpacked(tmp_path / "mirror", "aws", "5.100.0")
    rc = tmp_path / "rc"
    rc.write_text(f'provider_installation {{\n filesystem_mirror {{\n path = "{mirror}"\n }}\n}}\n')
    toolchain = discover(env_for(tmp_path, TF_CLI_CONFIG_FILE=str(rc)), tmp_path / "c")
    assert toolchain.mirrors == (mirror.resolve(),)
    assert toolchain.sources == (f"CLI config {rc}",)


@needs_terraform
def test_implied_local_mirror_in_home(tmp_path: Path) -> None:
    unpacked(tmp_path / "home/.terraform.d/plugins", "aws", "5.1.0")
    toolchain = discover(env_for(tmp_path), tmp_path / "c")
    assert toolchain.versions("aws") == ("5.1.0",)


@needs_terraform
def test_registry_only_when_asked(tmp_path: Path) -> None:
    toolchain = discover(env_for(tmp_path, KREO_TF_REGISTRY="1"), tmp_path / "c")
    assert toolchain.registry
    assert toolchain.has("aws", "6.25.0")
    assert "direct {}" in toolchain.cli_config.read_text()


@needs_terraform
def test_the_harness_writes_its_own_cli_config_never_the_users(tmp_path: Path) -> None:
    rc = tmp_path / "users-rc"
    rc.write_text("# mine\n")
    toolchain = discover(env_for(tmp_path, TF_CLI_CONFIG_FILE=str(rc)), tmp_path / "cache")
    assert toolchain.cli_config == tmp_path / "cache/terraformrc"
    assert rc.read_text() == "# mine\n"
    env = toolchain.env({"TF_CLI_CONFIG_FILE": str(rc), "AWS_PROFILE": "prod", "PATH": "/x"})
    assert env["TF_CLI_CONFIG_FILE"] == str(toolchain.cli_config)
    assert "AWS_PROFILE" not in env
    assert env["CHECKPOINT_DISABLE"] == "1"
    assert env["PATH"] == "/x"


def test_offline_cli_config_has_no_direct_installation(tmp_path: Path) -> None:
    text = cli_config_text([tmp_path], ["aws"], registry=False)
    assert "direct" not in text
    assert f'"{tmp_path}"' in text
    assert '"hashicorp/aws"' in text


def test_cli_config_without_any_mirror_is_still_valid() -> None:
    text = cli_config_text([], [], registry=False)
    assert "filesystem_mirror" in text
    assert "direct" not in text
