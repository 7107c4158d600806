"""Helm values of every platform release, as Python data (rendered to YAML once).

Everything environment-specific comes in as an argument: from config or from
another stack's outputs. Replicas and disruption budgets keep each controller
up through a node drain.
"""

from __future__ import annotations

from typing import Any

from kreo_infra.cluster.workload_identity import (
    ALERTMANAGER,
    APP_NAMESPACE,
    CLUSTER_AUTOSCALER,
    EXTERNAL_DNS,
    EXTERNAL_SECRETS,
    LOAD_BALANCER_CONTROLLER,
)

Values = dict[str, Any]

CONTROLLER_REPLICAS = 2
PDB = {"enabled": True, "minAvailable": 1}
EVICT_UNHEALTHY = {"unhealthyPodEvictionPolicy": "AlwaysAllow"}
"""A pod that is not Ready may always be evicted: a crash-looping replica never blocks
a node drain (charts that pass the field through; kube-prometheus-stack sets it itself)."""
STORAGE_CLASS = "gp3"
MONITORING_NAMESPACE = "monitoring"
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
"""Labels the Prometheus Operator puts on every Prometheus pod: what the services'
network policies admit from the monitoring namespace (nothing else there)."""
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105 - a Kubernetes secret name
INGRESS_CLASS = "alb"
"""The controller's IngressClass (its chart's ``ingressClass`` default; the
admission policy of charts/kreo-platform guards Ingresses of this class)."""
ALB_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
"""TLS 1.3 and 1.2 only, restricted ciphers: the seed's `ssl_protocols TLSv1.2 TLSv1.3`."""

GRAFANA_STORAGE = "10Gi"
"""Grafana's SQLite database (users, folders, dashboards made in the UI)."""

ALERTMANAGER_STORAGE = "10Gi"
"""Alertmanager's silences and notification log."""

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


def load_balancer_controller(*, cluster_name: str, region: str, vpc_id: str) -> Values:
    """The controller's values (chart aws-load-balancer-controller 3.5.0).

    Its IngressClass ``alb`` is created but is not the cluster's default
    (``ingressClassConfig.default`` false, the chart's own default, written out
    so it is not flipped by accident): an Ingress gets an internet-facing load
    balancer only by naming the class, which the admission policy then checks.
    https://github.com/aws/eks-charts/blob/master/stable/aws-load-balancer-controller/values.yaml
    https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/v3.5.0/pkg/config/feature_gates.go
    """
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": CONTROLLER_REPLICAS,
        "podDisruptionBudget": {"maxUnavailable": 1, **EVICT_UNHEALTHY},
        "resources": resources("aws-load-balancer-controller"),
        "serviceAccount": {"create": True, "name": LOAD_BALANCER_CONTROLLER.service_account},
        "defaultSSLPolicy": ALB_SSL_POLICY,
        "defaultTargetType": "ip",
        "ingressClass": INGRESS_CLASS,
        "createIngressClassResource": True,
        "ingressClassConfig": {"default": False},
        # What the admission policy assumes when an Ingress or Service names no
        # scheme (the controller's own default, pkg/config/controller_config.go).
        "defaultLoadBalancerScheme": "internal",
        # Gateway API load balancers (on by default in v3.5.0,
        # pkg/config/feature_gates.go) escape the Ingress and Service policies:
        # off until a Gateway is wanted and guarded like the Ingress.
        "controllerConfig": {"featureGates": {"ALBGatewayAPI": False, "NLBGatewayAPI": False}},
        # Services keep the in-tree behaviour unless they ask for the controller.
        "enableServiceMutatorWebhook": False,
        # The webhook's serving certificate from cert-manager (a Secret the
        # controller reads), not a key the chart renders into its templates,
        # which Helm's configmap release record would expose to viewers.
        "enableCertManager": True,
    }


def cert_manager() -> Values:
    """cert-manager issues the load balancer controller's webhook certificate
    (``enableCertManager``); nothing else asks it for one, so it has no issuer
    of ours and no AWS role (docs/decisions.md)."""

    def component(workload: str) -> Values:
        return {
            "replicaCount": CONTROLLER_REPLICAS,
            "podDisruptionBudget": {**PDB, **EVICT_UNHEALTHY},
            "resources": resources(workload),
        }

    return {
        "crds": {"enabled": True, "keep": True},
        **component("cert-manager"),
        "webhook": component("cert-manager-webhook"),
        "cainjector": component("cert-manager-cainjector"),
    }


UNREACHABLE_ON_EKS = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
"""Components kube-prometheus-stack scrapes by default that EKS never lets it reach:
the control plane runs outside the nodes, and EKS's kube-proxy serves metrics on
127.0.0.1:10249 only. Their targets would be down and their ``*Down`` alerts fire
forever; disabling them drops their rules too."""

SILENT_ALERTS = ("Watchdog", "InfoInhibitor")
"""Alerts that fire by design (the dead man's switch, the info inhibitor)."""


def _volume(storage: str) -> Values:
    return {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": STORAGE_CLASS,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": storage}},
            }
        }
    }


SNS_SUBJECT_LIMIT = 99
"""SNS Publish accepts a subject of fewer than 100 characters and rejects the call
otherwise (400, not retried); Alertmanager does not shorten it."""

SNS_SUBJECT = (
    f'{{{{ reReplaceAll "^(.{{0,{SNS_SUBJECT_LIMIT}}}).*$" "$1" '
    '(printf "[%s] %s %s" (.Status | toUpper) .GroupLabels.alertname '
    ".GroupLabels.namespace) }}"
)
"""``[FIRING] KubePodCrashLooping kreo-marketplace``, cut to the limit. Alertmanager's
default subject lists every common label (Prometheus's own label alone is 43
characters) and so exceeds it for almost every alert."""


def alertmanager_config(*, topic_arn: str, region: str) -> Values:
    """Every warning and critical alert to the environment's SNS topic (the
    CloudWatch alarms' topic: the same people, the same subscriptions).

    ``Watchdog`` and ``InfoInhibitor`` fire by design and ``info`` alerts are
    context for the others: those go to the ``null`` receiver. Alertmanager
    signs the SNS calls with the pod's Pod Identity credentials (``sigv4``).
    The chart's default inhibit rules and templates are kept (Helm merges
    maps; the ``route`` and ``receivers`` given here replace the defaults').
    """
    return {
        "route": {
            "receiver": "sns",
            "group_by": ["namespace", "alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                *(
                    {"receiver": "null", "matchers": [f'alertname = "{name}"']}
                    for name in SILENT_ALERTS
                ),
                {"receiver": "null", "matchers": ['severity = "info"']},
            ],
        },
        "receivers": [
            {"name": "null"},
            {
                "name": "sns",
                "sns_configs": [
                    {
                        "topic_arn": topic_arn,
                        "sigv4": {"region": region},
                        "subject": SNS_SUBJECT,
                        "send_resolved": True,
                    }
                ],
            },
        ],
    }


def kube_prometheus_stack(
    *, retention: str, storage_gb: int, alert_topic_arn: str, region: str
) -> Values:
    watched = {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "In",
                "values": [MONITORING_NAMESPACE, APP_NAMESPACE],
            }
        ]
    }
    reloader = resources("config-reloader")
    return {
        "prometheus": {
            "prometheusSpec": {
                "replicas": CONTROLLER_REPLICAS,
                "retention": retention,
                "resources": resources("prometheus"),
                "storageSpec": _volume(f"{storage_gb}Gi"),
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
            "config": alertmanager_config(topic_arn=alert_topic_arn, region=region),
            # Bound to its Pod Identity role (cluster layer): sns:Publish on the topic.
            "serviceAccount": {"create": True, "name": ALERTMANAGER.service_account},
            "alertmanagerSpec": {
                "replicas": CONTROLLER_REPLICAS,
                "resources": resources("alertmanager"),
                "storage": _volume(ALERTMANAGER_STORAGE),
            },
            "podDisruptionBudget": PDB,
        },
        "prometheusOperator": {
            "resources": resources("prometheus-operator"),
            # The config-reloader sidecar of every Prometheus and Alertmanager pod.
            "prometheusConfigReloader": {"resources": reloader},
        },
        "kube-state-metrics": {"resources": resources("kube-state-metrics")},
        "prometheus-node-exporter": {"resources": resources("node-exporter")},
        **{component: {"enabled": False} for component in UNREACHABLE_ON_EKS},
        "grafana": {
            # Admin credentials come from Secrets Manager through external-secrets.
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "resources": resources("grafana"),
            "sidecar": {"resources": resources("grafana-sidecar")},
            # What people make in the UI survives a restart; the volume carries
            # the backup tags (gp3 StorageClass). One ReadWriteOnce volume: the
            # old pod must let go of it before the new one starts.
            "persistence": {
                "enabled": True,
                "type": "pvc",
                "storageClassName": STORAGE_CLASS,
                "accessModes": ["ReadWriteOnce"],
                "size": GRAFANA_STORAGE,
            },
            "deploymentStrategy": {"type": "Recreate"},
        },
    }


def metrics_server() -> Values:
    return {
        "replicas": CONTROLLER_REPLICAS,
        "podDisruptionBudget": {**PDB, **EVICT_UNHEALTHY},
        "resources": resources("metrics-server"),
    }


BALANCING_IGNORED_LABELS = (
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
    "eks.amazonaws.com/nodegroup-image",
)
"""Node labels Cluster Autoscaler 1.35 compares when balancing groups and that may
differ between our per-zone groups (processors/nodegroupset: the AWS list ignores
the group name and zone, not these); the types of one group are one size."""


def cluster_autoscaler(*, cluster_name: str, region: str) -> Values:
    return {
        "autoDiscovery": {"clusterName": cluster_name},
        "awsRegion": region,
        "replicaCount": CONTROLLER_REPLICAS,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "resources": resources("cluster-autoscaler"),
        "rbac": {"serviceAccount": {"create": True, "name": CLUSTER_AUTOSCALER.service_account}},
        "extraArgs": {
            # One node group per zone (cluster layer): keep them the same size.
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            "skip-nodes-with-system-pods": False,
            # Per-zone groups are alike but for labels that may differ: the
            # instance type (a zone on its second type) and the AMI release.
            **{
                f"balancing-ignore-label_{index}": label
                for index, label in enumerate(BALANCING_IGNORED_LABELS, 1)
            },
            # Every marketplace pod, metrics-server and Grafana's sidecars have an
            # emptyDir (/tmp on a read-only root): scratch space, not data. The
            # default (true) would keep every node they land on forever.
            "skip-nodes-with-local-storage": False,
        },
    }


def external_secrets() -> Values:
    def component(workload: str) -> Values:
        return {
            "replicaCount": CONTROLLER_REPLICAS,
            "podDisruptionBudget": PDB,
            "resources": resources(workload),
        }

    return {
        "installCRDs": True,
        **component("external-secrets"),
        "serviceAccount": {"create": True, "name": EXTERNAL_SECRETS.service_account},
        "webhook": component("external-secrets-webhook"),
        "certController": component("external-secrets-cert-controller"),
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
        "resources": resources("external-dns"),
    }


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
