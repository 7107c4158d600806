"""Helm values of every platform release, as Python data (rendered to YAML once).

Everything environment-specific comes in as an argument: from config or from
another stack's outputs. Replicas and disruption budgets keep each controller
up through a node drain.
"""

from __future__ import annotations

from typing import Any

from kreo_infra.cluster.workload_identity import (
    APP_NAMESPACE,
    CERT_MANAGER,
    CLUSTER_AUTOSCALER,
    EXTERNAL_DNS,
    EXTERNAL_SECRETS,
    LOAD_BALANCER_CONTROLLER,
)

Values = dict[str, Any]

CONTROLLER_REPLICAS = 2
PDB = {"enabled": True, "minAvailable": 1}
STORAGE_CLASS = "gp3"
MONITORING_NAMESPACE = "monitoring"
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105 - a Kubernetes secret name
ALB_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
"""TLS 1.3 and 1.2 only, restricted ciphers: the seed's `ssl_protocols TLSv1.2 TLSv1.3`."""


def load_balancer_controller(*, cluster_name: str, region: str, vpc_id: str) -> Values:
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": CONTROLLER_REPLICAS,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "serviceAccount": {"create": True, "name": LOAD_BALANCER_CONTROLLER.service_account},
        "defaultSSLPolicy": ALB_SSL_POLICY,
        "defaultTargetType": "ip",
        "ingressClassConfig": {"default": True},
        # Services keep the in-tree behaviour unless they ask for the controller.
        "enableServiceMutatorWebhook": False,
        # The webhook's serving certificate from cert-manager (a Secret the
        # controller reads), not a key the chart renders into its templates,
        # which Helm's configmap release record would expose to viewers.
        "enableCertManager": True,
    }


def cert_manager() -> Values:
    component = {"replicaCount": CONTROLLER_REPLICAS, "podDisruptionBudget": PDB}
    return {
        "crds": {"enabled": True, "keep": True},
        **component,
        "serviceAccount": {"create": True, "name": CERT_MANAGER.service_account},
        "webhook": component,
        "cainjector": component,
    }


def kube_prometheus_stack(*, retention: str, storage_gb: int) -> Values:
    watched = {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "In",
                "values": [MONITORING_NAMESPACE, APP_NAMESPACE],
            }
        ]
    }
    return {
        "prometheus": {
            "prometheusSpec": {
                "replicas": CONTROLLER_REPLICAS,
                "retention": retention,
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "storageClassName": STORAGE_CLASS,
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": f"{storage_gb}Gi"}},
                        }
                    }
                },
                # Pick up ServiceMonitors and rules from the marketplace, not
                # only those labelled for this release.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorNamespaceSelector": watched,
                "podMonitorNamespaceSelector": watched,
                "ruleNamespaceSelector": watched,
            },
            "podDisruptionBudget": PDB,
        },
        "alertmanager": {
            "alertmanagerSpec": {
                "replicas": CONTROLLER_REPLICAS,
                "storage": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "storageClassName": STORAGE_CLASS,
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "10Gi"}},
                        }
                    }
                },
            },
            "podDisruptionBudget": PDB,
        },
        "grafana": {
            # Admin credentials come from Secrets Manager through external-secrets.
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
        },
    }


def metrics_server() -> Values:
    return {"replicas": CONTROLLER_REPLICAS, "podDisruptionBudget": PDB}


def cluster_autoscaler(*, cluster_name: str, region: str) -> Values:
    return {
        "autoDiscovery": {"clusterName": cluster_name},
        "awsRegion": region,
        "replicaCount": CONTROLLER_REPLICAS,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "rbac": {"serviceAccount": {"create": True, "name": CLUSTER_AUTOSCALER.service_account}},
        "extraArgs": {
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            "skip-nodes-with-system-pods": False,
        },
    }


def external_secrets() -> Values:
    component = {"replicaCount": CONTROLLER_REPLICAS, "podDisruptionBudget": PDB}
    return {
        "installCRDs": True,
        **component,
        "serviceAccount": {"create": True, "name": EXTERNAL_SECRETS.service_account},
        "webhook": component,
        "certController": component,
    }


def external_dns(*, domain: str, zone_id: str, policy: str, owner_id: str, region: str) -> Values:
    return {
        "provider": {"name": "aws"},
        "domainFilters": [domain],
        # The edge layer's zone only (the IAM role allows no other). The chart
        # (1.21.1) has no zoneIdFilters value, so the flag goes in as an argument;
        # without it, domainFilters [kreo.com] also matches the delegated
        # staging.kreo.com zone, whose records the role may not list, and one
        # failed listing aborts the whole sync.
        "extraArgs": [f"--zone-id-filter={zone_id}"],
        "policy": policy,
        "registry": "txt",
        "txtOwnerId": owner_id,
        "sources": ["service", "ingress"],
        "serviceAccount": {"create": True, "name": EXTERNAL_DNS.service_account},
        "env": [{"name": "AWS_DEFAULT_REGION", "value": region}],
    }


def platform_resources(
    *,
    region: str,
    domain: str,
    zone_id: str,
    acme_email: str,
    grafana_admin_key: str,
    volume_tags: dict[str, str],
) -> Values:
    """Values of the local chart charts/kreo-platform (cluster-scoped resources).

    ``volume_tags`` go on every EBS volume of the default StorageClass (the
    backup layer selects volumes by them).
    """
    return {
        "region": region,
        "storageClass": {"name": STORAGE_CLASS, "default": True, "volumeTags": volume_tags},
        "acme": {"email": acme_email, "dnsZones": [domain], "hostedZoneId": zone_id},
        "internalCa": {
            "name": "kreo-internal-ca",
            "namespace": CERT_MANAGER.namespace,
            "duration": "87600h",
        },
        # Only the marketplace and Grafana's namespace may use the store.
        "secretStore": {
            "name": "aws-secrets-manager",
            "namespaces": sorted({APP_NAMESPACE, MONITORING_NAMESPACE}),
        },
        "grafanaAdmin": {
            "namespace": MONITORING_NAMESPACE,
            "secretName": GRAFANA_ADMIN_SECRET,
            "remoteKey": grafana_admin_key,
            "refreshInterval": "1h",
        },
    }
