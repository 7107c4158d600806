"""Every add-on of the registry, checked the same way: what a new add-on gets for free.

Parametrized over :data:`REGISTRY`: an add-on module, its pin and its own
value tests are all a new add-on needs; these check that it is registered,
documented, pinned, ordered, bound to its role and released as declared.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from kreo_infra.config import load_environments
from kreo_infra.errors import PropsError
from kreo_infra.platform import addons
from kreo_infra.platform.addons import (
    PLATFORM_CHART,
    PLATFORM_CHART_AFTER,
    REGISTRY,
    SYSTEM_NAMESPACE,
    Addon,
    ReleaseInputs,
    addon_names,
    install_order,
    pin_problem,
)
from kreo_infra.platform.release import DEFAULT_TIMEOUT_SECONDS
from kreo_infra.workloads import Workload
from tests.conftest import CONFIG_DIR, PROJECT_ROOT
from tests.kreo_infra.platform.addons.conftest import IDENTITY_INPUTS, RELEASE_INPUTS, Platform

DOCS_SECTIONS = ("What:", "Why:", "Values that matter:")

each_addon = pytest.mark.parametrize("addon", REGISTRY, ids=[a.name for a in REGISTRY])
with_role = pytest.mark.parametrize(
    "addon", [a for a in REGISTRY if a.statements], ids=[a.name for a in REGISTRY if a.statements]
)


def module_of(addon: Addon) -> ModuleType:
    return importlib.import_module(f"{addons.__name__}.{addon.name.replace('-', '_')}")


def at(values: dict[str, Any], key: tuple[str, ...]) -> Any:
    for part in key:
        values = values[part]
    return values


# --- the registry ---------------------------------------------------------------------------


def test_every_module_of_the_package_is_an_add_on() -> None:
    """A module ``<name>.py`` (``-`` as ``_``) per add-on: found without a list."""
    modules = {m.name for m in pkgutil.iter_modules(addons.__path__) if m.name[0] != "_"}
    assert {a.name.replace("-", "_") for a in REGISTRY} == modules
    assert [module_of(a).ADDON for a in REGISTRY] == list(REGISTRY)


def test_install_order_puts_what_an_add_on_waits_for_first() -> None:
    """By name, each after what it names; the local chart's waits count for it."""
    order = [a.name for a in install_order([_addon(name="b", after=("a",)), _addon(name="a")])]
    assert order == ["a", "b"]
    local = [_addon(name="aa", after=(PLATFORM_CHART,)), *map(_named, PLATFORM_CHART_AFTER)]
    assert [a.name for a in install_order(local)] == [*PLATFORM_CHART_AFTER, "aa"]


def test_install_order_refuses_a_cycle() -> None:
    with pytest.raises(PropsError, match=r"wait for no cycle \(a -> b -> a\)"):
        install_order([_addon(name="a", after=("b",)), _addon(name="b", after=("a",))])


def test_install_order_refuses_an_unknown_wait() -> None:
    with pytest.raises(PropsError, match=r"name add-ons \(a\) or kreo-platform"):
        install_order([_addon(name="a", after=("nowhere",))])


def test_install_order_refuses_two_add_ons_of_one_name() -> None:
    with pytest.raises(PropsError, match="name each add-on once"):
        install_order([_addon(name="a"), _addon(name="a")])


def test_registry_loads_without_cdktf() -> None:
    """main.py checks the pins against the registry before cdktf is loaded."""
    probe = (
        "import sys\n"
        "import kreo_infra.platform.addons\n"
        "print(sorted({'cdktf', 'jsii', 'constructs'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60,
        env={"PYTHONPATH": str(PROJECT_ROOT / "constructs")},
    )  # fmt: skip
    assert result.stdout == "[]\n"


def test_the_local_chart_comes_after_what_it_waits_for() -> None:
    names = addon_names()
    first_user = min(i for i, a in enumerate(REGISTRY) if PLATFORM_CHART in a.after)
    assert all(names.index(n) < first_user for n in PLATFORM_CHART_AFTER)


# --- each add-on, on its own ----------------------------------------------------------------


@each_addon
def test_has_a_docs_page(addon: Addon) -> None:
    """Its module docstring says what it is, why it runs and which values matter,
    and links its upstream."""
    doc = module_of(addon).__doc__ or ""
    for section in DOCS_SECTIONS:
        assert f"\n{section}" in doc, f"{addon.name}: no {section!r} paragraph"
    assert "https://" in doc


@each_addon
def test_pinned_in_every_environment(addon: Addon) -> None:
    for config in load_environments(CONFIG_DIR):
        assert addon.name in config.platform.charts, config.name


@each_addon
def test_namespace_exists_before_it(addon: Addon) -> None:
    """Its namespace is kube-system or made by it or an add-on before it."""
    namespace = addon.workload.namespace
    earlier = REGISTRY[: REGISTRY.index(addon) + 1]
    assert namespace == SYSTEM_NAMESPACE or any(
        a.creates_namespace and a.workload.namespace == namespace for a in earlier
    )


@each_addon
def test_waits_only_for_earlier_releases(addon: Addon) -> None:
    earlier = addon_names()[: REGISTRY.index(addon)]
    for name in addon.after:
        assert name in earlier or name == PLATFORM_CHART, name


@each_addon
def test_values_name_its_service_account(addon: Addon) -> None:
    """Where the values name the service account, it is the workload's: the one the
    cluster layer binds the role to. An add-on with a role must name it."""
    values = addon.values(RELEASE_INPUTS)
    if addon.statements:
        assert addon.service_account_key
    if addon.service_account_key:
        assert at(values, addon.service_account_key) == addon.workload.service_account


@each_addon
def test_values_are_plain_data(addon: Addon) -> None:
    values = addon.values(RELEASE_INPUTS)
    assert yaml.safe_load(yaml.safe_dump(values, sort_keys=True)) == values


@with_role
def test_statements_are_allow_statements(addon: Addon) -> None:
    assert addon.statements is not None
    statements = addon.statements(IDENTITY_INPUTS)
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert statement["Action"]
        assert statement["Resource"]
    assert json.loads(json.dumps(statements)) == statements


# --- each add-on, as synthesized ------------------------------------------------------------


@each_addon
def test_released_at_its_pin_in_its_namespace(platform: Platform, addon: Addon) -> None:
    release = platform.releases()[addon.name]
    chart = platform.config.platform.charts[addon.name]
    assert (release["repository"], release["chart"], release["version"]) == (
        chart.repository,
        chart.chart,
        chart.version,
    )
    assert release["namespace"] == addon.workload.namespace
    assert release["timeout"] == DEFAULT_TIMEOUT_SECONDS
    assert platform.values(addon.name) == addon.values(release_inputs(platform))


@each_addon
def test_released_after_what_it_waits_for(platform: Platform, addon: Addon) -> None:
    depends = platform.releases()[addon.name].get("depends_on", [])
    releases = [d for d in depends if d.startswith("helm_release.")]
    assert releases == [platform.ref(name) for name in addon.after]
    namespaces = {
        n["metadata"]["name"]
        for n in platform.synthesis.resources(platform.stack, "kubernetes_namespace_v1").values()
    }
    waits_for_namespace = any(d.startswith("kubernetes_namespace_v1.") for d in depends)
    assert waits_for_namespace == (addon.workload.namespace in namespaces)


@with_role
def test_role_bound_to_its_service_account(platform: Platform, addon: Addon) -> None:
    cluster = f"{platform.config.stack_prefix}-cluster"
    synthesis = platform.synthesis
    association = synthesis.resources(cluster, "aws_eks_pod_identity_association")[
        f"{addon.identity_id}/association"
    ]
    assert (association["namespace"], association["service_account"]) == (
        addon.workload.namespace,
        addon.workload.service_account,
    )
    assert association["role_arn"] == synthesis.ref(
        cluster, "aws_iam_role", f"{addon.identity_id}/role", "arn"
    )


def test_no_role_without_statements(platform: Platform) -> None:
    cluster = f"{platform.config.stack_prefix}-cluster"
    roles = platform.synthesis.resources(cluster, "aws_iam_role")
    for addon in REGISTRY:
        if not addon.statements:
            assert f"{addon.identity_id}/role" not in roles


def release_inputs(platform: Platform) -> ReleaseInputs:
    """What the platform stack must pass: config, the network's VPC and the edge's zone
    (cross-stack references into those stacks' state), the alarm topic's ARN.

    The zone is the edge's own (``dns.zone: create``) or looked up (``existing``: a
    recovery environment's, the recovered environment's zone); the records' owner is
    the recovered environment's cluster for a recovery, whose external-dns takes its
    records over, else the environment's own."""
    config, synthesis = platform.config, platform.synthesis

    def state_of(layer: str, output: str) -> str:
        # cdktf's cross-stack reference: the producing stack's remote state, one output.
        return (
            f"${{data.terraform_remote_state.cross-stack-reference-input-"
            f"{config.stack_prefix}-{layer}.outputs.cross-stack-output-{output}}}"
        )

    (network,) = synthesis.resources(f"{config.stack_prefix}-network", "aws_vpc").values()
    edge = synthesis.stack(f"{config.stack_prefix}-edge")
    looked_up = config.dns.zone == "existing"
    (zone,) = edge["data" if looked_up else "resource"]["aws_route53_zone"].values()
    vpc_id = f"aws_vpc{network['//']['metadata']['uniqueId']}id"
    zone_id = (
        f"{'data' if looked_up else ''}aws_route53_zone{zone['//']['metadata']['uniqueId']}zone_id"
    )
    return ReleaseInputs(
        cluster_name=config.cluster_name,
        region=config.region,
        vpc_id=state_of("network", vpc_id),
        domain=config.dns.domain,
        zone_id=state_of("edge", zone_id),
        alert_topic_arn=(
            f"arn:${{data.aws_partition.partition.partition}}:sns:{config.region}:"
            f"${{data.aws_caller_identity.caller-identity.account_id}}:{config.alarm_topic_name}"
        ),
        prometheus_retention=config.platform.prometheus_retention,
        prometheus_storage_gb=config.platform.prometheus_storage_gb,
        external_dns_policy=config.platform.external_dns_policy,
    )


# --- pins and declarations that cannot work -------------------------------------------------


def test_pins_of_the_registry_are_fine() -> None:
    assert pin_problem(addon_names()) is None


def test_a_missing_pin_is_named() -> None:
    pinned = [n for n in addon_names() if n != "external-dns"]
    assert pin_problem(pinned) == "pin a chart version for external-dns"


def test_a_pin_without_an_add_on_is_named() -> None:
    problem = pin_problem([*addon_names(), "ingress-nginx"])
    assert problem is not None
    assert problem.startswith("no add-on named ingress-nginx (kreo_infra/platform/addons/)")


def test_platform_stack_refuses_pins_that_do_not_match(providers: None, tmp_path: Path) -> None:
    """The backstop for callers other than main.py (which reports a config error)."""
    from cdktf import App

    from kreo_infra.stacks.platform import PlatformStack

    config = load_environments(CONFIG_DIR)[0]
    charts = {k: v for k, v in config.platform.charts.items() if k != "metrics-server"}
    unpinned = config.model_copy(
        update={"platform": config.platform.model_copy(update={"charts": charts})}
    )
    with pytest.raises(PropsError, match="pin a chart version for metrics-server"):
        PlatformStack(
            App(outdir=str(tmp_path)),
            config=unpinned,
            network=None,  # type: ignore[arg-type]
            edge=None,  # type: ignore[arg-type]
            cluster=None,  # type: ignore[arg-type]
            charts_dir=tmp_path,
        )


def _addon(**changes: Any) -> Addon:
    workload = Workload("x", "x", "x")
    return Addon(**{"name": "x", "workload": workload, "values": lambda _: {}, **changes})


def _named(name: str) -> Addon:
    return _addon(name=name)


def test_an_add_on_cannot_wait_for_itself() -> None:
    with pytest.raises(PropsError, match="x cannot wait for itself"):
        _addon(after=("x",))


def test_a_role_id_needs_statements() -> None:
    with pytest.raises(PropsError, match="give statements for a role"):
        _addon(role_id="y")


def test_kube_system_is_never_created() -> None:
    with pytest.raises(PropsError, match="kube-system exists in every cluster"):
        _addon(workload=Workload("x", SYSTEM_NAMESPACE, "x"), creates_namespace=True)


def test_role_id_defaults_to_the_workload_name() -> None:
    assert _addon(statements=lambda _: []).identity_id == "x"
    assert _addon(statements=lambda _: [], role_id="y").identity_id == "y"


def _fake_package(monkeypatch: pytest.MonkeyPatch, modules: dict[str, ModuleType | Exception]):
    """The registry's discovery over ``modules`` instead of the package's own files."""
    monkeypatch.setattr(
        addons.pkgutil,
        "iter_modules",
        lambda path: [pkgutil.ModuleInfo(None, name, False) for name in sorted(modules)],  # type: ignore[arg-type]
    )

    def import_module(name: str) -> ModuleType:
        found = modules[name.rsplit(".", 1)[1]]
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(addons.importlib, "import_module", import_module)


def test_helper_modules_are_not_add_ons(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module whose name starts with ``_`` holds what add-ons share, not an add-on."""
    real = importlib.import_module("kreo_infra.platform.addons.metrics_server")
    _fake_package(monkeypatch, {"metrics_server": real, "_common": ModuleType("_common")})
    assert [a.name for a in addons._discover()] == ["metrics-server"]


def test_a_module_that_fails_to_import_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_package(monkeypatch, {"broken": ImportError("No module named 'nonexistent_pkg'")})
    with pytest.raises(PropsError, match=r"broken.*No module named 'nonexistent_pkg'"):
        addons._discover()


def test_a_module_without_its_addon_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_package(monkeypatch, {"reloader": ModuleType("reloader")})
    with pytest.raises(PropsError, match="define ADDON"):
        addons._discover()


def test_the_architecture_release_table_lists_every_add_on_at_its_pin() -> None:
    """docs/architecture.md ("The platform layer") names each add-on at its pinned
    version and namespace, and no release the registry does not have."""
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text[text.index("| release | namespace |") :].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        release, namespace = (cell.strip() for cell in line.strip("|").split("|")[:2])
        name, version = release.split(" ", 1)
        rows[name] = (version, namespace)
    charts = load_environments(CONFIG_DIR)[0].platform.charts
    expected = {
        addon.name: (charts[addon.name].version, addon.workload.namespace) for addon in REGISTRY
    }
    assert {n: v for n, v in rows.items() if n != PLATFORM_CHART} == expected
