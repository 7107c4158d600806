"""Cluster Autoscaler: node groups sized to the pods that need scheduling.

What: adds a node when a pod cannot be scheduled and removes one whose pods
fit elsewhere, by resizing the node groups' Auto Scaling groups (found by
their ``k8s.io/cluster-autoscaler/<cluster>`` tags: ``autoDiscovery``).

Why: the marketplace's HorizontalPodAutoscalers add pods; this adds the nodes
they need, within each group's ``min_size``..``max_size`` (cluster config;
docs/decisions.md 14). Released after metrics-server.

Values that matter: one node group per zone (cluster layer), kept the same
size (``balance-similar-node-groups``) even when their labels differ
(:data:`BALANCING_IGNORED_LABELS`); ``least-waste`` picks the group to grow;
``skip-nodes-with-local-storage`` off, since every marketplace pod has a /tmp
emptyDir and the default would keep every node forever (docs/decisions.md 63).

IAM: read the node groups; resize only the Auto Scaling groups of this cluster.
https://github.com/kubernetes/autoscaler/tree/cluster-autoscaler-chart-9.59.0/cluster-autoscaler/charts/cluster-autoscaler
"""

from __future__ import annotations

from kreo_infra.platform.addons import SYSTEM_NAMESPACE, Addon, IdentityInputs, ReleaseInputs
from kreo_infra.platform.values import CONTROLLER_REPLICAS, Values, resources
from kreo_infra.security.iam import Statement
from kreo_infra.workloads import Workload

WORKLOAD = Workload("cluster-autoscaler", SYSTEM_NAMESPACE, "cluster-autoscaler")

BALANCING_IGNORED_LABELS = (
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
    "eks.amazonaws.com/nodegroup-image",
)
"""Node labels Cluster Autoscaler 1.35 compares when balancing groups and that may
differ between our per-zone groups (processors/nodegroupset: the AWS list ignores
the group name and zone, not these); the types of one group are one size."""


def statements(inputs: IdentityInputs) -> list[Statement]:
    """Read the node groups; resize only the Auto Scaling groups of this cluster."""
    partition, region, account_id = inputs.partition, inputs.region, inputs.account_id
    cluster_name = inputs.cluster_name
    return [
        {
            "Sid": "DiscoverNodeGroups",
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
            ],
            "Resource": "*",
        },
        {
            "Sid": "DescribeThisClustersNodeGroups",
            "Effect": "Allow",
            "Action": ["eks:DescribeNodegroup"],
            "Resource": f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*/*",
        },
        {
            "Sid": "ResizeThisClustersGroups",
            "Effect": "Allow",
            "Action": [
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
            ],
            "Resource": f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*",
            "Condition": {
                "StringEquals": {
                    f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"
                }
            },
        },
    ]


def values(inputs: ReleaseInputs) -> Values:
    return {
        "autoDiscovery": {"clusterName": inputs.cluster_name},
        "awsRegion": inputs.region,
        "replicaCount": CONTROLLER_REPLICAS,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "resources": resources("cluster-autoscaler"),
        "rbac": {"serviceAccount": {"create": True, "name": WORKLOAD.service_account}},
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


ADDON = Addon(
    name="cluster-autoscaler",
    workload=WORKLOAD,
    values=values,
    service_account_key=("rbac", "serviceAccount", "name"),
    statements=statements,
    after=("metrics-server",),
)
