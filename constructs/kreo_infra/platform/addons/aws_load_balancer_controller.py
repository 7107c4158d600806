"""AWS Load Balancer Controller: Ingresses become ALBs, Services NLBs.

What: watches Ingresses of the class ``alb`` (and Services that ask for it)
and creates, wires and deletes the AWS load balancers, target groups and
security groups behind them, registering pods as IP targets.

Why: the marketplace API is reached through an internet-facing ALB with the
environment's certificate and web ACL; the controller makes that ALB from the
marketplace chart's Ingress, so the load balancer follows the services.

Values that matter: its IngressClass ``alb`` is created but is not the
cluster's default (``ingressClassConfig.default`` false, the chart's own
default, written out so it is not flipped by accident): an Ingress gets an
internet-facing load balancer only by naming the class, which the admission
policy of charts/kreo-platform then checks. An Ingress or Service that names no
scheme gets an internal one; Gateway API load balancers (on by default in
v3.5.0) are off, since the admission policy does not see them; the webhook's
serving certificate comes from cert-manager (hence ``after``), never from the
chart's templates, which Helm's release record would expose to viewers.

IAM: the controller's published policy, verbatim in
``aws-load-balancer-controller.json`` beside this module (an upgrade is a file
diff, docs/decisions.md 19), narrowed to this cluster, region and account by
:func:`statements`.
https://github.com/aws/eks-charts/blob/master/stable/aws-load-balancer-controller/values.yaml
https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/v3.5.0/pkg/config/feature_gates.go
https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/v3.5.0/docs/install/iam_policy.json
"""

from __future__ import annotations

import importlib.resources
import json

from kreo_infra.platform.addons import (
    SYSTEM_NAMESPACE,
    Addon,
    IdentityInputs,
    ReleaseInputs,
)
from kreo_infra.platform.values import CONTROLLER_REPLICAS, EVICT_UNHEALTHY, Values, resources
from kreo_infra.security.iam import Statement
from kreo_infra.workloads import ALB_SSL_POLICY, INGRESS_CLASS, Workload

WORKLOAD = Workload(
    "aws-load-balancer-controller", SYSTEM_NAMESPACE, "aws-load-balancer-controller"
)

PUBLISHED_POLICY = importlib.resources.files(__package__) / "aws-load-balancer-controller.json"
"""The controller's ``docs/install/iam_policy.json`` at v3.5.0, verbatim (package data:
read through importlib.resources, so a zipped install reads it too)."""

PUBLISHED_POLICY_VERSION = "v3.5.0"
"""The controller release :data:`PUBLISHED_POLICY` was copied from. It must be the
pinned chart's ``appVersion`` (tests/kreo_infra/platform/addons/
test_aws_load_balancer_controller.py): a chart bump brings its policy file along."""

CLUSTER_TAG = "elbv2.k8s.aws/cluster"
"""The tag the AWS Load Balancer Controller puts on everything it creates, valued
with its ``--cluster-name`` (controller v3.5.0 ``pkg/deploy/tracking/provider.go``:
``elbv2.k8s.aws/cluster: cluster-name`` on all AWS resources; the backend security
group too, ``pkg/networking/backend_sg_provider.go``)."""


def _scope_to_cluster(statement: Statement, cluster_name: str) -> Statement:
    """One statement of the published policy with its ``Null`` test on the
    controller's tag ("carries the tag, any value": any cluster's) turned into
    ``StringEquals`` this cluster's name. ``Null ... "true"`` (the request does
    not set the tag) stays: it is what stops the controller re-tagging a
    resource into its cluster."""
    condition = {key: dict(value) for key, value in statement.get("Condition", {}).items()}
    null = condition.get("Null", {})
    equals = dict(condition.get("StringEquals", {}))
    for key in [k for k, v in null.items() if k.endswith(f"/{CLUSTER_TAG}")]:
        if null[key] == "false":
            equals[key] = cluster_name
            del null[key]
    if equals:
        condition["StringEquals"] = equals
    if not null:
        condition.pop("Null", None)
    return {**statement, "Condition": condition} if condition else dict(statement)


def statements(inputs: IdentityInputs) -> list[Statement]:
    """The controller's published policy (controller v3.5.0), scoped to this
    cluster, this region and this account.

    Read from :data:`PUBLISHED_POLICY`, then narrowed: the published policy
    tests the ``elbv2.k8s.aws/cluster`` tag with ``Null`` (the tag is present,
    whatever cluster it names), so a controller could delete or rewire another
    cluster's load balancers in the account; here every such test requires the
    tag to equal the cluster's name, the value the controller writes
    (:data:`CLUSTER_TAG`). ARNs name this region and account instead of ``*``.

    What stays unscoped, as upstream, because the controller cannot tag it or
    AWS cannot condition it: ``CreateSecurityGroup`` (no ARN before it exists;
    its tags must carry this cluster's value), ingress rules on the node
    security groups (not the controller's: it opens them to its load
    balancers), listeners and rules (``CreateListener``/``CreateRule`` have no
    tag-on-create in the published policy; their ARNs are generated), WAF and
    Shield association, and the read-only calls.
    """
    partition, region, account_id = inputs.partition, inputs.region, inputs.account_id
    text = PUBLISHED_POLICY.read_text(encoding="utf-8")
    text = text.replace("arn:aws:ec2:*:*:", f"arn:{partition}:ec2:{region}:{account_id}:")
    text = text.replace(
        "arn:aws:elasticloadbalancing:*:*:",
        f"arn:{partition}:elasticloadbalancing:{region}:{account_id}:",
    )
    text = text.replace("arn:aws:", f"arn:{partition}:")
    published = json.loads(text)["Statement"]
    return [_scope_to_cluster(statement, inputs.cluster_name) for statement in published]


def values(inputs: ReleaseInputs) -> Values:
    """The controller's values (chart aws-load-balancer-controller 3.5.0)."""
    return {
        "clusterName": inputs.cluster_name,
        "region": inputs.region,
        "vpcId": inputs.vpc_id,
        "replicaCount": CONTROLLER_REPLICAS,
        "podDisruptionBudget": {"maxUnavailable": 1, **EVICT_UNHEALTHY},
        "resources": resources("aws-load-balancer-controller"),
        "serviceAccount": {"create": True, "name": WORKLOAD.service_account},
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


ADDON = Addon(
    name="aws-load-balancer-controller",
    workload=WORKLOAD,
    values=values,
    service_account_key=("serviceAccount", "name"),
    statements=statements,
    # The role's construct id from before the registry (a Terraform address).
    role_id="load-balancer-controller",
    # Its webhook certificate comes from cert-manager.
    after=("cert-manager",),
)
