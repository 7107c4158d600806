"""Shared fixtures: one in-process synthesis of the whole app, one checkov run.

Loading cdktf and the provider packages costs ~15 s and ~1 GB, so the app is
synthesized once per session (``app.synth()`` into a temporary directory, which
wires cross-stack references the way ``cdktf synth`` does) and every test reads
that output. The cdktf CLI is never spawned from tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kreo_infra import lazy_providers
from kreo_infra.config import EnvironmentConfig, load_environments

if TYPE_CHECKING:
    from cdktf import App

    from kreo_infra.policy.checkov import CheckovRun, PolicyScan

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
ENVIRONMENT_NAMES = [config.name for config in load_environments(CONFIG_DIR)]
"""Every environment of the committed config/: what a test asking for ``env_name``
runs over. Tests never list environments themselves (tests/test_seed.py excepted)."""
OWN_ENVIRONMENT_NAMES = [c.name for c in load_environments(CONFIG_DIR) if c.recovery_of is None]
"""The environments of their own (not a recovery): what ``env_name`` runs over in a
test marked ``own_environments``, one about what a recovery environment does not
make (a bootstrap, CloudFront, secret containers, media buckets; its own
tests are tests/test_region_recovery.py)."""
RECOVERY_ENVIRONMENT_NAMES = [
    c.name for c in load_environments(CONFIG_DIR) if c.recovery_of is not None
]
"""The recovery environments (``recovery_of``): what ``recovery_name`` runs over."""
_TIMINGS: dict[str, float] = {}

# Before anything imports a provider package: only the resource modules the app
# (and a test) uses are imported, not all ~2,500 (docs/performance.md).
lazy_providers.install()


@dataclass
class Synthesis:
    """The synthesized app: its output directory, construct tree and stack JSON."""

    outdir: Path
    app: App
    configs: list[EnvironmentConfig]
    _cache: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def stack_names(self) -> list[str]:
        return sorted(p.name for p in (self.outdir / "stacks").iterdir())

    def stack_file(self, name: str) -> Path:
        return self.outdir / "stacks" / name / "cdk.tf.json"

    def stack(self, name: str) -> dict[str, Any]:
        """The synthesized Terraform JSON of stack ``name``."""
        if name not in self._cache:
            self._cache[name] = json.loads(self.stack_file(name).read_text(encoding="utf-8"))
        return self._cache[name]

    def resources(self, stack_name: str, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one type keyed by construct path below the stack (``vpc/private-0``)."""
        found = {}
        for body in self.stack(stack_name).get("resource", {}).get(resource_type, {}).values():
            path = body["//"]["metadata"]["path"]
            found[path.removeprefix(f"{stack_name}/")] = body
        return found

    def ref(self, stack_name: str, resource_type: str, path: str, attribute: str) -> str:
        """The Terraform expression for an attribute of the resource at ``path``."""
        body = self.resources(stack_name, resource_type)[path]
        return f"${{{resource_type}.{body['//']['metadata']['uniqueId']}.{attribute}}}"

    def environment(self, name: str) -> EnvironmentConfig:
        """The config of environment ``name``."""
        return next(c for c in self.configs if c.name == name)

    def config(self, stack_name: str) -> EnvironmentConfig:
        """The config a stack was built from (kreo-github: the apex owner's)."""
        from kreo_infra.config.loader import apex_owner

        return next(
            (c for c in self.configs if stack_name.startswith(f"{c.stack_prefix}-")),
            apex_owner(self.configs),
        )

    def is_account_wide(self, stack_name: str) -> bool:
        """The account's own stack (the bootstrap), applied by an administrator."""
        from kreo_infra.layers import ACCOUNT_LAYERS

        return any(stack_name.endswith(f"-{layer}") for layer in ACCOUNT_LAYERS)

    def tags(self, stack_name: str) -> dict[str, str]:
        """The standard tags every taggable resource of the stack must carry."""
        from kreo_infra.tags import standard_tags

        return standard_tags(self.config(stack_name), stack_name)


@pytest.fixture(scope="session")
def configs() -> list[EnvironmentConfig]:
    """Every environment of the committed config/."""
    return load_environments(CONFIG_DIR)


def import_providers() -> None:
    """Import cdktf, the provider packages and the app once, timed.

    This is the suite's largest fixed cost; whoever needs it first (collection
    of stack-parametrized tests, or a fixture) pays it, and the summary line
    reports it apart from synthesis proper.
    """
    if "provider-import" in _TIMINGS:
        return
    start = time.perf_counter()
    import cdktf_cdktf_provider_aws  # noqa: F401
    import cdktf_cdktf_provider_github  # noqa: F401
    import cdktf_cdktf_provider_helm  # noqa: F401
    import cdktf_cdktf_provider_kubernetes  # noqa: F401

    import kreo_infra.app  # noqa: F401 (and with it every provider module the app uses)

    _TIMINGS["provider-import"] = time.perf_counter() - start


@pytest.fixture(scope="session")
def providers() -> None:
    """Tests that build constructs request this (or ``synthesis``) and import the
    bindings inside the test, so config-only runs never pay for them."""
    import_providers()


@pytest.fixture(scope="session")
def synthesis(providers: None, configs: list[EnvironmentConfig], tmp_path_factory) -> Synthesis:
    start = time.perf_counter()
    from kreo_infra.app import build_app

    outdir = tmp_path_factory.mktemp("cdktf.out")
    app = build_app(configs, charts_dir=PROJECT_ROOT / "charts", outdir=str(outdir))
    app.synth()
    _TIMINGS["synthesis"] = time.perf_counter() - start
    if _TERRAFORM["wanted"]:
        _start_terraform_tiers(outdir, tmp_path_factory.mktemp("terraform"))
    return Synthesis(outdir=outdir, app=app, configs=configs)


_TERRAFORM: dict[str, Any] = {"wanted": False, "future": None}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Start Terraform's tiers only when a test that reads them was selected (after
    ``-m``/``-k`` deselection: ``pytest -m "not terraform"`` skips the tiers)."""
    _TERRAFORM["wanted"] = any(item.get_closest_marker("terraform") for item in items)


def _start_terraform_tiers(outdir: Path, workroot: Path) -> None:
    """Tiers 1 and 2 run in the background (Terraform's own processes, on the
    other core) from the moment the synthesis exists; ``terraform_tiers`` waits."""
    import os
    import threading
    from concurrent.futures import Future

    from kreo_infra.tfcheck.plan import deployment_order
    from kreo_infra.tfcheck.runner import run_tiers
    from kreo_infra.tfcheck.toolchain import discover

    # The environment as the session has it now, taken in this thread: a test that
    # patches os.environ or the working directory later cannot reach the tiers.
    env = dict(os.environ)

    def run() -> Any:
        toolchain = discover(env, PROJECT_ROOT / ".cache" / "terraform")
        start = time.perf_counter()
        chains = deployment_order(outdir).chains
        results = run_tiers(outdir, chains, toolchain, env, toolchain.cli_config.parent,
                            workroot=workroot)  # fmt: skip
        _TIMINGS["terraform"] = time.perf_counter() - start
        _TERRAFORM["toolchain"] = toolchain.describe()
        return toolchain, results

    future: Future = Future()

    def work() -> None:
        try:
            future.set_result(run())
        except BaseException as error:  # handed to the test that waits for it
            future.set_exception(error)

    # A daemon thread: `pytest -x` or Ctrl-C does not wait for the chains.
    threading.Thread(target=work, name="terraform", daemon=True).start()
    _TERRAFORM["future"] = future


@pytest.fixture(scope="session")
def terraform_tiers(synthesis: Synthesis) -> Any:
    """``(Toolchain, TierResults)`` of tiers 1 and 2 over the session's synthesis.

    Without a Terraform CLI or any AWS provider plugin the tests that need it
    skip with the reason, except in CI (``CI`` set), where they fail.
    """
    import os

    from kreo_infra.tfcheck.toolchain import ToolchainError

    future = _TERRAFORM["future"]
    if future is None:
        _start_terraform_tiers(synthesis.outdir, synthesis.outdir.parent / "terraform-work")
        future = _TERRAFORM["future"]
    try:
        toolchain, results = future.result()
    except ToolchainError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Terraform tiers cannot run: {error}")
        pytest.skip(f"Terraform tiers not run: {error}")
    if not toolchain.versions("aws") and not toolchain.registry:
        reason = "no AWS provider plugin in any mirror and KREO_TF_REGISTRY is not 1"
        if os.environ.get("CI"):
            pytest.fail(f"Terraform tiers cannot run: {reason}")
        pytest.skip(f"Terraform tiers not run: {reason}")
    return toolchain, results


@pytest.fixture
def stack(providers: None) -> Any:
    """An empty throwaway stack for construct tests (default provider-less)."""
    from cdktf import TerraformStack
    from cdktf import Testing as CdktfTesting

    return TerraformStack(CdktfTesting.app(), "test")


def synth_stack(stack: Any) -> dict[str, Any]:
    """The Terraform JSON of one construct-test stack (``Testing.synth``: no cross-stack
    wiring, which construct tests do not need)."""
    from cdktf import Testing as CdktfTesting

    return json.loads(CdktfTesting.synth(stack))


@pytest.fixture(scope="session")
def policy_scan(synthesis: Synthesis) -> PolicyScan:
    """checkov over every synthesized stack, both local charts as each environment's
    release renders them (labels ``<chart>/<env>``) and the workflows: one process
    per environment (``policy.checkov.scan``)."""
    from kreo_infra.policy.checkov import scan
    from tests.charts import LOCAL_CHARTS, installed_text

    manifests = {  # one group per environment: one cluster's objects per Kubernetes graph
        config.name: {
            f"{chart}/{config.name}": installed_text(synthesis, config.name, chart)
            for chart in LOCAL_CHARTS
        }
        for config in synthesis.configs
    }
    start = time.perf_counter()
    run = scan(synthesis.outdir / "stacks", manifests, PROJECT_ROOT / ".github" / "workflows")
    _TIMINGS["checkov"] = time.perf_counter() - start
    return run


@pytest.fixture(scope="session")
def checkov_run(policy_scan: PolicyScan) -> CheckovRun:
    """checkov's verdicts on every synthesized stack (from the one policy scan)."""
    return policy_scan.stacks


@pytest.fixture(scope="session")
def all_stack_names(configs: list[EnvironmentConfig]) -> list[str]:
    from kreo_infra.layers import all_stacks

    return all_stacks(configs)


def iter_resources(stack: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(type, name, body)`` of every resource in a synthesized stack."""
    for resource_type, resources in stack.get("resource", {}).items():
        for name, body in resources.items():
            yield resource_type, name, body


_SESSION_START = time.perf_counter()


def _rendering_seconds() -> float:
    import sys

    charts = sys.modules.get("tests.charts")
    return charts.RENDER_SECONDS[0] if charts else 0.0


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """One line bench/bench.py reads: where the suite's time went."""
    total = time.perf_counter() - _SESSION_START
    imports = _TIMINGS.get("provider-import", 0.0)
    synth = _TIMINGS.get("synthesis", 0.0)
    checkov = _TIMINGS.get("checkov", 0.0)
    charts = _rendering_seconds()
    rest = max(total - imports - synth - checkov - charts, 0.0)
    # terraform runs in the background, beside the other tests: not part of "rest".
    terraform = _TIMINGS.get("terraform", 0.0)
    terminalreporter.write_line(
        f"kreo-timings: provider-import={imports:.1f}s synthesis={synth:.1f}s "
        f"checkov={checkov:.1f}s charts={charts:.1f}s rest={rest:.1f}s total={total:.1f}s "
        f"terraform-background={terraform:.1f}s"
    )
    if _TERRAFORM.get("toolchain"):
        terminalreporter.write_line(
            "kreo-terraform: " + _TERRAFORM["toolchain"].replace("\n", "; ")
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``env_name`` over every environment of config/ (marked
    ``own_environments``: those of their own, no recovery), ``recovery_name`` over
    the recovery environments, and ``stack_name`` over every stack of every
    environment."""
    if "env_name" in metafunc.fixturenames:
        own = metafunc.definition.get_closest_marker("own_environments") is not None
        names = OWN_ENVIRONMENT_NAMES if own else ENVIRONMENT_NAMES
        metafunc.parametrize("env_name", names, scope="session")
    if "recovery_name" in metafunc.fixturenames:
        metafunc.parametrize("recovery_name", RECOVERY_ENVIRONMENT_NAMES, scope="session")
    if "stack_name" in metafunc.fixturenames:
        import_providers()
        from kreo_infra.layers import all_stacks

        metafunc.parametrize("stack_name", all_stacks(load_environments(CONFIG_DIR)))
