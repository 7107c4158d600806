"""The project layout promises of DEVELOPERS.md and the README."""

from __future__ import annotations

import inspect
import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import PROJECT_ROOT


def test_constructs_is_the_library_not_the_source_root() -> None:
    import constructs
    from cdktf import TerraformStack

    module_file = Path(inspect.getfile(constructs.Construct)).resolve()
    assert "site-packages" in module_file.parts, module_file
    assert issubclass(TerraformStack, constructs.Construct)


def test_source_root_is_not_a_package() -> None:
    assert not (PROJECT_ROOT / "constructs" / "__init__.py").exists()


def test_project_package_is_imported_from_the_source_root() -> None:
    import kreo_infra

    assert Path(kreo_infra.__file__).resolve().parent == PROJECT_ROOT / "constructs" / "kreo_infra"


def _committed_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [PROJECT_ROOT / name for name in listed.decode().split("\0") if name]


def _registry_hosts() -> set[str]:
    """Hosts of pip's default index and file store, and of the configured indexes.

    Asked of pip and npm rather than written here, so this file names none.
    """
    from pip._internal.models.index import PyPI

    hosts = {PyPI.netloc, PyPI.file_storage_domain}
    for url in (os.environ.get("PIP_INDEX_URL"), _npm_registry()):
        if url and urlparse(url).hostname:
            hosts.add(urlparse(url).hostname)
    return hosts


def _npm_registry() -> str | None:
    try:
        return subprocess.run(
            ["npm", "config", "get", "registry"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def test_no_committed_file_names_a_package_registry_host() -> None:
    hosts = _registry_hosts()
    offenders = {
        f"{path.relative_to(PROJECT_ROOT)}: {host}"
        for path in _committed_files()
        if path.is_file()
        for host in hosts
        if host in path.read_text(encoding="utf-8", errors="ignore")
    }
    assert hosts
    assert sorted(offenders) == []


def test_pipfile_source_is_the_configured_index() -> None:
    import json

    lock = json.loads((PROJECT_ROOT / "Pipfile.lock").read_text(encoding="utf-8"))
    assert [s["url"] for s in lock["_meta"]["sources"]] == ["${PIP_INDEX_URL}"]


def test_readme_opens_with_the_two_commands() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in first_block.splitlines()] == [
        "make synth",
        "make test",
    ]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nmake test\n" in ci


def test_make_keeps_the_cli_offline_and_caches_in_the_project() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    for setting in (
        "export CHECKPOINT_DISABLE := 1",
        "export PIPENV_VENV_IN_PROJECT := 1",
        "export PIP_CACHE_DIR := $(CACHE)/pip",
        "export npm_config_cache := $(CACHE)/npm",
        "export XDG_CACHE_HOME := $(CACHE)/xdg",
    ):
        assert setting in makefile


def test_cdktf_cli_is_pinned_to_0_21() -> None:
    import json

    package = json.loads((PROJECT_ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert package["devDependencies"]["cdktf-cli"] == "0.21.0"
    assert lock["packages"]["node_modules/cdktf-cli"]["version"] == "0.21.0"


def test_lock_files_carry_no_urls() -> None:
    """No download or funding links: installs resolve through the configured registries."""
    import re

    for name in ("package-lock.json", "Pipfile.lock"):
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
        assert re.findall(r"https?://", text) == [], name
