"""What the platform releases' values share, and the local chart's values.

Helm values are Python data (rendered to YAML once, by
:class:`~kreo_infra.platform.release.PinnedRelease`). Each add-on's values
live in its module of :mod:`kreo_infra.platform.addons`; the replicas,
disruption budgets and resource requests they share are here, so every
controller stays up through a node drain the same way and the capacity model
reads one table. Everything environment-specific comes in as an argument:
from config or from another stack's outputs.
"""

from __future__ import annotations

from typing import Any

from kreo_infra.workloads import APP_NAMESPACE, INGRESS_CLASS, MONITORING_NAMESPACE, SECRET_STORE

Values = dict[str, Any]

CONTROLLER_REPLICAS = 2
PDB = {"enabled": True, "minAvailable": 1}
EVICT_UNHEALTHY = {"unhealthyPodEvictionPolicy": "AlwaysAllow"}
"""A pod that is not Ready may always be evicted: a crash-looping replica never blocks
a node drain (charts that pass the field through; kube-prometheus-stack sets it itself)."""
STORAGE_CLASS = "gp3"
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105 - a Kubernetes secret name
"""Grafana's admin credentials: made by the local chart, read by kube-prometheus-stack."""

# What every platform pod asks the scheduler for: (cpu request, memory request,
# memory limit). No CPU limits: a throttled controller is slower, not safer.
# The capacity model (tests/test_capacity.py) adds these up per node; sizes
# follow each project's guidance for a cluster of this size (tens of nodes,
# hundreds of pods), docs/decisions.md 68.
RESOURCES: dict[str, tuple[str, str, str]] = {
    "aws-load-balancer-controller": ("100m", "128Mi", "512Mi"),
    "cert-manager": ("50m", "128Mi", "512Mi"),
    "cert-manager-webhook": ("20m", "64Mi", "128Mi"),
    "cert-manager-cainjector": ("20m", "128Mi", "512Mi"),
    "prometheus": ("500m", "2Gi", "4Gi"),
    "alertmanager": ("50m", "128Mi", "256Mi"),
    "config-reloader": ("10m", "32Mi", "64Mi"),  # sidecar of Prometheus and Alertmanager
    "prometheus-operator": ("100m", "128Mi", "512Mi"),
    "kube-state-metrics": ("50m", "128Mi", "512Mi"),
    "node-exporter": ("20m", "32Mi", "64Mi"),  # a DaemonSet: on every node
    "grafana": ("100m", "256Mi", "512Mi"),
    "grafana-sidecar": ("20m", "64Mi", "128Mi"),  # dashboards and datasources, each
    "metrics-server": ("100m", "200Mi", "400Mi"),
    "cluster-autoscaler": ("100m", "300Mi", "600Mi"),
    "external-secrets": ("50m", "128Mi", "512Mi"),
    "external-secrets-webhook": ("20m", "64Mi", "128Mi"),
    "external-secrets-cert-controller": ("20m", "64Mi", "256Mi"),
    "external-dns": ("20m", "64Mi", "128Mi"),
}


def resources(workload: str) -> Values:
    """The ``resources`` block of ``workload`` (a key of :data:`RESOURCES`)."""
    cpu, memory, memory_limit = RESOURCES[workload]
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def platform_resources(
    *,
    region: str,
    grafana_admin_key: str,
    volume_tags: dict[str, str],
    volume_key_arn: str,
    web_acl_arn: str,
) -> Values:
    """Values of the local chart charts/kreo-platform (cluster-scoped resources).

    ``volume_tags`` go on every EBS volume of the default StorageClass (the
    backup layer selects volumes by them), encrypted with ``volume_key_arn``
    (the cluster's volume key). ``web_acl_arn`` is the environment's regional
    WAF ACL: the admission policy admits an internet-facing ALB Ingress only
    with that ACL.
    """
    return {
        "region": region,
        "storageClass": {
            "name": STORAGE_CLASS,
            "default": True,
            "volumeTags": volume_tags,
            "kmsKeyId": volume_key_arn,
        },
        "loadBalancerGuard": {
            "ingressClass": INGRESS_CLASS,
            "ingressController": "ingress.k8s.aws/alb",
            "serviceLoadBalancerClass": "service.k8s.aws/nlb",
            "webAclArn": web_acl_arn,
        },
        # Only the marketplace and Grafana's namespace may use the store.
        "secretStore": {
            "name": SECRET_STORE,
            "namespaces": sorted({APP_NAMESPACE, MONITORING_NAMESPACE}),
        },
        "grafanaAdmin": {
            "namespace": MONITORING_NAMESPACE,
            "secretName": GRAFANA_ADMIN_SECRET,
            "remoteKey": grafana_admin_key,
            "refreshInterval": "1h",
        },
    }
