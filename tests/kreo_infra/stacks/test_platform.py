"""kreo-<env>-platform, asserted on the synthesized JSON of every environment.

What every add-on gets (pin, namespace, ordering, role binding) is checked over
the registry in tests/kreo_infra/platform/addons/test_registry.py, and each
add-on's values in its own test module there; these are the stack's own
promises and those that span add-ons.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig
from kreo_infra.platform.addons import PLATFORM_CHART, REGISTRY, SYSTEM_NAMESPACE, addon_names
from tests.conftest import Synthesis

Env = tuple[Synthesis, str, EnvironmentConfig]

NAMESPACES = {
    **{addon.name: addon.workload.namespace for addon in REGISTRY},
    PLATFORM_CHART: SYSTEM_NAMESPACE,
}
"""Each release's namespace, as the add-ons declare it."""


@pytest.fixture
def env(env_name: str, synthesis: Synthesis) -> Env:
    config = synthesis.environment(env_name)
    return synthesis, f"{config.stack_prefix}-platform", config


def releases(synthesis: Synthesis, stack: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in synthesis.resources(stack, "helm_release").values()}


def values_of(synthesis: Synthesis, stack: str, name: str) -> dict[str, Any]:
    (document,) = releases(synthesis, stack)[name]["values"]
    return yaml.safe_load(document)


def release_ref(synthesis: Synthesis, stack: str, name: str) -> str:
    return f"helm_release.{releases(synthesis, stack)[name]['//']['metadata']['uniqueId']}"


def test_providers_reach_the_cluster_by_exec_auth(env: Env) -> None:
    synthesis, stack, config = env
    providers = synthesis.stack(stack)["provider"]
    (kubernetes,) = providers["kubernetes"]
    (helm,) = providers["helm"]
    cluster_state = f"cross-stack-reference-input-{config.stack_prefix}-cluster"
    args = ["eks", "get-token", "--cluster-name", config.cluster_name, "--region", config.region]
    for connection, exec_block in (
        (kubernetes, kubernetes["exec"][0]),
        (helm["kubernetes"], helm["kubernetes"]["exec"]),
    ):
        assert cluster_state in connection["host"]
        assert connection["cluster_ca_certificate"].startswith("${base64decode(")
        assert (exec_block["command"], exec_block["args"]) == ("aws", args)
        for forbidden in ("token", "config_path", "config_paths", "client_key", "password"):
            assert forbidden not in connection


def test_every_chart_released_at_its_pinned_version(env: Env) -> None:
    synthesis, stack, config = env
    found = releases(synthesis, stack)
    assert set(found) == {*addon_names(), PLATFORM_CHART}
    for name in addon_names():
        chart = config.platform.charts[name]
        release = found[name]
        assert (release["repository"], release["chart"], release["version"]) == (
            chart.repository,
            chart.chart,
            chart.version,
        )


def test_releases_are_atomic_waited_and_namespaced(env: Env) -> None:
    synthesis, stack, _ = env
    for name, release in releases(synthesis, stack).items():
        assert release["namespace"] == NAMESPACES[name], name
        assert release["atomic"] is True, name
        assert release["wait"] is True, name
        assert release["cleanup_on_fail"] is True, name
        assert release["timeout"] == 600, name
        assert release["create_namespace"] is False, name


def test_namespaces_exist_before_their_releases(env: Env) -> None:
    synthesis, stack, _ = env
    namespaces = {
        n["metadata"]["name"]: f"kubernetes_namespace_v1.{n['//']['metadata']['uniqueId']}"
        for n in synthesis.resources(stack, "kubernetes_namespace_v1").values()
    }
    assert set(namespaces) == {a.workload.namespace for a in REGISTRY if a.creates_namespace}
    assert {"cert-manager", "external-secrets", "external-dns", "monitoring"} <= set(namespaces)
    for name, release in releases(synthesis, stack).items():
        if release["namespace"] in namespaces and name != PLATFORM_CHART:
            assert namespaces[release["namespace"]] in release["depends_on"], name


def test_crds_before_the_resources_that_use_them(env: Env) -> None:
    synthesis, stack, _ = env
    found = releases(synthesis, stack)
    resources = found["kreo-platform"]["depends_on"]
    assert release_ref(synthesis, stack, "cert-manager") in resources
    assert release_ref(synthesis, stack, "external-secrets") in resources
    assert (
        release_ref(synthesis, stack, "kreo-platform")
        in found["kube-prometheus-stack"]["depends_on"]
    )
    assert values_of(synthesis, stack, "cert-manager")["crds"]["enabled"] is True
    assert values_of(synthesis, stack, "external-secrets")["installCRDs"] is True


def test_local_chart_is_a_relative_asset(env: Env) -> None:
    synthesis, stack, _ = env
    chart = releases(synthesis, stack)["kreo-platform"]["chart"]
    assert chart.startswith("assets/platform-chart/")
    assert (synthesis.outdir / "stacks" / stack / chart / "Chart.yaml").is_file()


@pytest.mark.parametrize(
    ("release", "replicas_key", "pdb_key"),
    [
        ("aws-load-balancer-controller", "replicaCount", "podDisruptionBudget"),
        ("cert-manager", "replicaCount", "podDisruptionBudget"),
        ("external-secrets", "replicaCount", "podDisruptionBudget"),
        ("metrics-server", "replicas", "podDisruptionBudget"),
        ("cluster-autoscaler", "replicaCount", "podDisruptionBudget"),
    ],
)
def test_controllers_survive_a_node_drain(
    env: Env, release: str, replicas_key: str, pdb_key: str
) -> None:
    synthesis, stack, _ = env
    values = values_of(synthesis, stack, release)
    assert values[replicas_key] >= 2
    assert values[pdb_key]


def test_no_ingress_nginx(synthesis: Synthesis) -> None:
    for name in synthesis.stack_names:
        for release in synthesis.resources(name, "helm_release").values():
            assert "nginx" not in release["chart"]


# --- issue 17: the running platform ---------------------------------------------------------


def test_every_platform_pod_requests_resources(env: Env) -> None:
    """The scheduler and the capacity model (tests/test_capacity.py) count requests:
    a pod without them lands anywhere and starves its neighbours."""
    from kreo_infra.platform.values import RESOURCES

    synthesis, stack, _ = env
    kps = values_of(synthesis, stack, "kube-prometheus-stack")
    eso = values_of(synthesis, stack, "external-secrets")
    certs = values_of(synthesis, stack, "cert-manager")
    found = {
        "aws-load-balancer-controller": values_of(synthesis, stack, "aws-load-balancer-controller")[
            "resources"
        ],
        "cert-manager": certs["resources"],
        "cert-manager-webhook": certs["webhook"]["resources"],
        "cert-manager-cainjector": certs["cainjector"]["resources"],
        "prometheus": kps["prometheus"]["prometheusSpec"]["resources"],
        "alertmanager": kps["alertmanager"]["alertmanagerSpec"]["resources"],
        "config-reloader": kps["prometheusOperator"]["prometheusConfigReloader"]["resources"],
        "prometheus-operator": kps["prometheusOperator"]["resources"],
        "kube-state-metrics": kps["kube-state-metrics"]["resources"],
        "node-exporter": kps["prometheus-node-exporter"]["resources"],
        "grafana": kps["grafana"]["resources"],
        "grafana-sidecar": kps["grafana"]["sidecar"]["resources"],
        "metrics-server": values_of(synthesis, stack, "metrics-server")["resources"],
        "cluster-autoscaler": values_of(synthesis, stack, "cluster-autoscaler")["resources"],
        "external-secrets": eso["resources"],
        "external-secrets-webhook": eso["webhook"]["resources"],
        "external-secrets-cert-controller": eso["certController"]["resources"],
        "external-dns": values_of(synthesis, stack, "external-dns")["resources"],
    }
    assert set(found) == set(RESOURCES)
    for workload, resources in found.items():
        cpu, memory, limit = RESOURCES[workload]
        assert resources == {
            "requests": {"cpu": cpu, "memory": memory},
            "limits": {"memory": limit},
        }, workload


@pytest.mark.parametrize(
    ("release", "path"),
    [
        ("aws-load-balancer-controller", ("podDisruptionBudget",)),
        ("metrics-server", ("podDisruptionBudget",)),
        ("cert-manager", ("podDisruptionBudget",)),
        ("cert-manager", ("webhook", "podDisruptionBudget")),
        ("cert-manager", ("cainjector", "podDisruptionBudget")),
    ],
)
def test_controller_budgets_evict_unhealthy_pods(
    env: Env, release: str, path: tuple[str, ...]
) -> None:
    """Where the chart passes it through (the others: tests/test_runtime_rules.py)."""
    synthesis, stack, _ = env
    value: Any = values_of(synthesis, stack, release)
    for key in path:
        value = value[key]
    assert value["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_external_dns_owns_the_records_as_the_zones_environment(env: Env) -> None:
    """external-dns changes only records whose TXT owner id is its own: every
    environment's is its own cluster, a recovery's included (it is handed the
    recovered environment's ``api`` record by the runbook, decision 78). It works in
    the edge's zone only."""
    synthesis, stack, config = env
    values = values_of(synthesis, stack, "external-dns")
    assert values["txtOwnerId"] == config.cluster_name
    assert values["registry"] == "txt"
    edge = f"{config.stack_prefix}-edge"
    zone = synthesis.stack(edge)["output"]["zone-id"]["value"]
    (output,) = [
        name
        for name, body in synthesis.stack(edge)["output"].items()
        if body["value"] == zone and name.startswith("cross-stack-output-")
    ]
    (zone_filter,) = values["extraArgs"]
    assert zone_filter.startswith("--zone-id-filter=${data.terraform_remote_state.")
    assert zone_filter.endswith(f"-{edge}.outputs.{output}}}")
