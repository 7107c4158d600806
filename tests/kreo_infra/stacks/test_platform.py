"""kreo-<env>-platform, asserted on the synthesized JSON of every environment."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from kreo_infra.config import EnvironmentConfig
from kreo_infra.config.models import CHARTS
from tests.conftest import Synthesis

Env = tuple[Synthesis, str, EnvironmentConfig]

NAMESPACES = {
    "metrics-server": "kube-system",
    "aws-load-balancer-controller": "kube-system",
    "cluster-autoscaler": "kube-system",
    "external-secrets": "external-secrets",
    "cert-manager": "cert-manager",
    "external-dns": "external-dns",
    "kube-prometheus-stack": "monitoring",
    "kreo-platform": "kube-system",
}


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
    assert set(found) == {*CHARTS, "kreo-platform"}
    for name in CHARTS:
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
    assert set(namespaces) == {"cert-manager", "external-secrets", "external-dns", "monitoring"}
    for name, release in releases(synthesis, stack).items():
        if release["namespace"] in namespaces and name != "kreo-platform":
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


@pytest.mark.parametrize(
    ("release", "path", "service_account"),
    [
        (
            "aws-load-balancer-controller",
            ("serviceAccount", "name"),
            "aws-load-balancer-controller",
        ),
        ("kube-prometheus-stack", ("alertmanager", "serviceAccount", "name"), "alertmanager"),
        ("external-secrets", ("serviceAccount", "name"), "external-secrets"),
        ("external-dns", ("serviceAccount", "name"), "external-dns"),
        ("cluster-autoscaler", ("rbac", "serviceAccount", "name"), "cluster-autoscaler"),
    ],
)
def test_release_uses_the_service_account_its_role_is_bound_to(
    env: Env, release: str, path: tuple[str, ...], service_account: str
) -> None:
    synthesis, stack, config = env
    value: Any = values_of(synthesis, stack, release)
    for key in path:
        value = value[key]
    assert value == service_account
    cluster = synthesis.stack(f"{config.stack_prefix}-cluster")
    bound = {
        (a["namespace"], a["service_account"])
        for a in cluster["resource"]["aws_eks_pod_identity_association"].values()
    }
    assert (NAMESPACES[release], service_account) in bound


def test_load_balancer_controller_values(env: Env) -> None:
    synthesis, stack, config = env
    values = values_of(synthesis, stack, "aws-load-balancer-controller")
    assert values["clusterName"] == config.cluster_name
    assert values["region"] == config.region
    assert f"{config.stack_prefix}-network" in values["vpcId"]
    assert values["defaultSSLPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"


def test_alb_ingress_class_is_not_the_default(env: Env) -> None:
    """An Ingress reaches the ALB controller only by naming its class (chart 3.5.0:
    ``ingressClassConfig.default`` annotates the IngressClass is-default-class)."""
    synthesis, stack, _ = env
    values = values_of(synthesis, stack, "aws-load-balancer-controller")
    assert values["ingressClassConfig"] == {"default": False}
    assert values["createIngressClassResource"] is True
    assert values["ingressClass"] == "alb"


def test_alb_controller_makes_nothing_the_admission_policy_cannot_see(env: Env) -> None:
    """No scheme means internal (what the policy assumes), and no Gateway API
    load balancers (on by default in controller v3.5.0; the policy guards
    Ingresses and Services only)."""
    synthesis, stack, _ = env
    values = values_of(synthesis, stack, "aws-load-balancer-controller")
    assert values["defaultLoadBalancerScheme"] == "internal"
    assert values["controllerConfig"]["featureGates"] == {
        "ALBGatewayAPI": False,
        "NLBGatewayAPI": False,
    }


def test_no_release_renders_a_private_key_into_its_record(env: Env) -> None:
    # Helm's release records are ConfigMaps (the view policy reads them): the
    # load balancer controller's chart would render its webhook's tls.key into
    # its templates unless cert-manager issues it (chart templates/webhook.yaml).
    synthesis, stack, _ = env
    assert values_of(synthesis, stack, "aws-load-balancer-controller")["enableCertManager"] is True
    depends = releases(synthesis, stack)["aws-load-balancer-controller"]["depends_on"]
    assert release_ref(synthesis, stack, "cert-manager") in depends


def test_prometheus_retention_storage_and_selectors(env: Env) -> None:
    synthesis, stack, config = env
    values = values_of(synthesis, stack, "kube-prometheus-stack")
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] == config.platform.prometheus_retention
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3"
    assert claim["resources"]["requests"]["storage"] == f"{config.platform.prometheus_storage_gb}Gi"
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    (selector,) = spec["serviceMonitorNamespaceSelector"]["matchExpressions"]
    assert "kreo-marketplace" in selector["values"]
    assert values["alertmanager"]["alertmanagerSpec"]["replicas"] >= 2


def test_grafana_admin_comes_from_a_secret(env: Env) -> None:
    synthesis, stack, config = env
    grafana = values_of(synthesis, stack, "kube-prometheus-stack")["grafana"]
    assert grafana["admin"]["existingSecret"] == "grafana-admin"
    assert "adminPassword" not in grafana
    resources = values_of(synthesis, stack, "kreo-platform")["grafanaAdmin"]
    assert resources["secretName"] == "grafana-admin"
    assert (
        resources["remoteKey"] == f"{config.secrets_prefix}{config.platform.grafana_admin_secret}"
    )
    data = synthesis.stack(f"{config.stack_prefix}-data")
    names = {s["name"] for s in data["resource"]["aws_secretsmanager_secret"].values()}
    assert resources["remoteKey"] in names


def test_external_dns_domain_and_policy(env: Env) -> None:
    synthesis, stack, config = env
    values = values_of(synthesis, stack, "external-dns")
    assert values["domainFilters"] == [config.dns.domain]
    assert values["policy"] == config.platform.external_dns_policy
    assert values["txtOwnerId"] == config.cluster_name
    assert values["provider"] == {"name": "aws"}


def test_external_dns_never_deletes_on_the_apex(env: Env) -> None:
    """The apex zone holds records no cluster created (mail, verifications):
    external-dns there only adds and updates. A subdomain's zone is its own."""
    synthesis, stack, config = env
    values = values_of(synthesis, stack, "external-dns")
    if config.dns.domain == config.dns.apex:
        assert values["policy"] == "upsert-only"
    else:
        assert values["policy"] in ("upsert-only", "sync")
        assert values["domainFilters"] == [config.dns.domain] != [config.dns.apex]


def test_cluster_autoscaler_discovers_this_cluster(env: Env) -> None:
    synthesis, stack, config = env
    values = values_of(synthesis, stack, "cluster-autoscaler")
    assert values["autoDiscovery"] == {"clusterName": config.cluster_name}
    assert values["awsRegion"] == config.region


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


def test_autoscaler_removes_nodes_with_scratch_space(env: Env) -> None:
    """Every marketplace pod has a /tmp emptyDir; with the default
    (--skip-nodes-with-local-storage=true) no node would ever be removed."""
    synthesis, stack, _ = env
    args = values_of(synthesis, stack, "cluster-autoscaler")["extraArgs"]
    assert args["skip-nodes-with-local-storage"] is False
    assert args["balance-similar-node-groups"] is True
    # The chart strips "_<n>" from keys: the flag repeats, one label each.
    ignored = {v for k, v in args.items() if k.startswith("balancing-ignore-label_")}
    assert ignored == {
        "node.kubernetes.io/instance-type",
        "beta.kubernetes.io/instance-type",
        "eks.amazonaws.com/nodegroup-image",
    }


def test_alerts_go_to_the_alarm_topic(env: Env) -> None:
    synthesis, stack, config = env
    alertmanager = values_of(synthesis, stack, "kube-prometheus-stack")["alertmanager"]
    route, receivers = alertmanager["config"]["route"], alertmanager["config"]["receivers"]
    by_name = {r["name"]: r for r in receivers}
    assert route["receiver"] == "sns"
    (sns,) = by_name["sns"]["sns_configs"]
    assert f":sns:{config.region}:" in sns["topic_arn"]
    assert sns["topic_arn"].endswith(f":{config.alarm_topic_name}")
    assert sns["sigv4"] == {"region": config.region}
    assert sns["send_resolved"] is True
    # SNS rejects a subject of 100 characters or more (400, not retried): the
    # subject keeps at most 99 of "[FIRING] <alertname> <namespace>".
    assert sns["subject"].startswith('{{ reReplaceAll "^(.{0,99}).*$" "$1" (printf "[%s] %s %s"')
    long = "[FIRING] " + "KubePodCrashLooping" * 10 + " kreo-marketplace"
    assert len(re.sub(r"^(.{0,99}).*$", r"\1", long)) == 99
    # Only what fires by design, and info-level context, is dropped.
    silenced = [(r["receiver"], r["matchers"]) for r in route["routes"]]
    assert silenced == [
        ("null", ['alertname = "Watchdog"']),
        ("null", ['alertname = "InfoInhibitor"']),
        ("null", ['severity = "info"']),
    ]
    assert by_name["null"] == {"name": "null"}


def test_no_scrapes_of_what_eks_keeps_to_itself(env: Env) -> None:
    synthesis, stack, _ = env
    kps = values_of(synthesis, stack, "kube-prometheus-stack")
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert kps[component] == {"enabled": False}, component


def test_grafana_keeps_its_database(env: Env) -> None:
    synthesis, stack, _ = env
    grafana = values_of(synthesis, stack, "kube-prometheus-stack")["grafana"]
    assert grafana["persistence"] == {
        "enabled": True,
        "type": "pvc",
        "storageClassName": "gp3",
        "accessModes": ["ReadWriteOnce"],
        "size": "10Gi",
    }
    # A ReadWriteOnce volume: a rolling update would wait forever on Multi-Attach.
    assert grafana["deploymentStrategy"] == {"type": "Recreate"}


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
