"""kube-prometheus-stack: Prometheus, Alertmanager and Grafana (the seed's monitoring).

What: the Prometheus Operator with one Prometheus, one Alertmanager, Grafana,
kube-state-metrics and node-exporter, plus the community's alerting rules and
dashboards for Kubernetes.

Why: the marketplace's metrics and alerts (its ServiceMonitors, PodMonitors
and rules, app layer) and the cluster's own; the CloudWatch alarms
(observability layer) cover AWS services, this covers what runs in the
cluster. Alerts reach the same people: Alertmanager publishes warning and
critical alerts to the environment's SNS topic (docs/decisions.md 64).

Values that matter: retention and volume size from config
(``platform.prometheus_retention``, ``platform.prometheus_storage_gb``) on gp3
volumes; two replicas each of Prometheus and Alertmanager; Prometheus watches
the monitoring and marketplace namespaces for monitors and rules, not only
those labelled for this release; no scrapes of what EKS keeps to itself
(:data:`UNREACHABLE_ON_EKS`); Grafana's admin from the ``grafana-admin``
Secret (external-secrets, through charts/kreo-platform: hence ``after`` that
chart, which also makes the gp3 StorageClass) and its database on a volume.

IAM: Alertmanager may publish to the alarm topic only (``sigv4`` with its Pod
Identity credentials).
https://github.com/prometheus-community/helm-charts/tree/kube-prometheus-stack-88.5.3/charts/kube-prometheus-stack
"""

from __future__ import annotations

from kreo_infra.platform.addons import (
    PLATFORM_CHART,
    Addon,
    IdentityInputs,
    ReleaseInputs,
)
from kreo_infra.platform.values import (
    CONTROLLER_REPLICAS,
    GRAFANA_ADMIN_SECRET,
    PDB,
    STORAGE_CLASS,
    Values,
    resources,
)
from kreo_infra.security.iam import Statement
from kreo_infra.workloads import APP_NAMESPACE, MONITORING_NAMESPACE, Workload

WORKLOAD = Workload("alertmanager", MONITORING_NAMESPACE, "alertmanager")
"""Alertmanager: publishes alerts to the environment's SNS topic."""

GRAFANA_STORAGE = "10Gi"
"""Grafana's SQLite database (users, folders, dashboards made in the UI)."""

ALERTMANAGER_STORAGE = "10Gi"
"""Alertmanager's silences and notification log."""

UNREACHABLE_ON_EKS = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
"""Components kube-prometheus-stack scrapes by default that EKS never lets it reach:
the control plane runs outside the nodes, and EKS's kube-proxy serves metrics on
127.0.0.1:10249 only. Their targets would be down and their ``*Down`` alerts fire
forever; disabling them drops their rules too."""

SILENT_ALERTS = ("Watchdog", "InfoInhibitor")
"""Alerts that fire by design (the dead man's switch, the info inhibitor)."""

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


def statements(inputs: IdentityInputs) -> list[Statement]:
    """Publish to the alarm topic (Alertmanager's ``sns_configs``), nothing else.

    The topic is encrypted with a customer-managed key whose alias is
    ``alias/<topic>`` (:class:`kreo_infra.alerting.topic.AlarmTopic`);
    publishing needs ``kms:GenerateDataKey`` and ``kms:Decrypt`` on it ("Enable
    compatibility between event sources from AWS services and encrypted topics",
    Amazon SNS documentation). The topic and its key belong to the observability
    layer, deployed after this one: the key is named by its alias
    (``kms:ResourceAliases``) and used only through SNS in this region.
    """
    partition, region, account_id = inputs.partition, inputs.region, inputs.account_id
    topic = inputs.alarm_topic
    return [
        {
            "Sid": "PublishAlerts",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": f"arn:{partition}:sns:{region}:{account_id}:{topic}",
        },
        {
            "Sid": "EncryptThemWithTheTopicsKey",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": f"arn:{partition}:kms:{region}:{account_id}:key/*",
            "Condition": {
                "StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"},
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{topic}"},
            },
        },
    ]


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


def values(inputs: ReleaseInputs) -> Values:
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
                "retention": inputs.prometheus_retention,
                "resources": resources("prometheus"),
                "storageSpec": _volume(f"{inputs.prometheus_storage_gb}Gi"),
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
            "config": alertmanager_config(topic_arn=inputs.alert_topic_arn, region=inputs.region),
            # Bound to its Pod Identity role (cluster layer): sns:Publish on the topic.
            "serviceAccount": {"create": True, "name": WORKLOAD.service_account},
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


ADDON = Addon(
    name="kube-prometheus-stack",
    workload=WORKLOAD,
    values=values,
    service_account_key=("alertmanager", "serviceAccount", "name"),
    statements=statements,
    # The gp3 StorageClass and Grafana's admin secret come first.
    after=(PLATFORM_CHART,),
    creates_namespace=True,
)
