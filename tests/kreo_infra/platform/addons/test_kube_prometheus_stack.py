"""kube-prometheus-stack: Prometheus, Alertmanager and Grafana as released."""

from __future__ import annotations

import re

from tests.kreo_infra.platform.addons.conftest import Platform


def test_prometheus_retention_storage_and_selectors(platform: Platform) -> None:
    config = platform.config
    values = platform.values("kube-prometheus-stack")
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


def test_alerts_go_to_the_alarm_topic(platform: Platform) -> None:
    config = platform.config
    alertmanager = platform.values("kube-prometheus-stack")["alertmanager"]
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


def test_no_scrapes_of_what_eks_keeps_to_itself(platform: Platform) -> None:
    kps = platform.values("kube-prometheus-stack")
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert kps[component] == {"enabled": False}, component


def test_grafana_admin_comes_from_a_secret(platform: Platform) -> None:
    synthesis, config = platform.synthesis, platform.config
    grafana = platform.values("kube-prometheus-stack")["grafana"]
    assert grafana["admin"]["existingSecret"] == "grafana-admin"
    assert "adminPassword" not in grafana
    resources = platform.values("kreo-platform")["grafanaAdmin"]
    assert resources["secretName"] == "grafana-admin"
    assert (
        resources["remoteKey"] == f"{config.secrets_prefix}{config.platform.grafana_admin_secret}"
    )
    # The data layer makes the secret, or, in a recovery environment, looks up the
    # recovered environment's replica of it (in the recovery's region).
    data = synthesis.stack(f"{config.stack_prefix}-data")
    kind = "data" if config.recovery_of else "resource"
    names = {s["name"] for s in data[kind]["aws_secretsmanager_secret"].values()}
    assert resources["remoteKey"] in names


def test_grafana_keeps_its_database(platform: Platform) -> None:
    grafana = platform.values("kube-prometheus-stack")["grafana"]
    assert grafana["persistence"] == {
        "enabled": True,
        "type": "pvc",
        "storageClassName": "gp3",
        "accessModes": ["ReadWriteOnce"],
        "size": "10Gi",
    }
    # A ReadWriteOnce volume: a rolling update would wait forever on Multi-Attach.
    assert grafana["deploymentStrategy"] == {"type": "Recreate"}
