"""The AWS Load Balancer Controller: its IAM policy and its values."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from kreo_infra.config import load_environments
from kreo_infra.platform.addons import aws_load_balancer_controller as controller_addon
from tests.conftest import CONFIG_DIR
from tests.kreo_infra.platform.addons.conftest import IDENTITY_INPUTS, Platform
from tests.runtime.capacity import load_upstream
from tests.statements import actions, resources

CLUSTER = IDENTITY_INPUTS.cluster_name
NAME = controller_addon.ADDON.name


# --- IAM -----------------------------------------------------------------------------------------


@pytest.fixture
def controller() -> list[dict[str, Any]]:
    return controller_addon.statements(IDENTITY_INPUTS)


def test_published_policy_is_the_pinned_controllers() -> None:
    """The IAM policy file is the one of the controller the pinned chart runs.

    The chain: config/ pins the chart; its upstream.yaml row is at that version
    (tests/test_capacity.py fails until it is re-read at a new tag), and records
    the chart's ``appVersion``; the policy file says which controller it came from.
    Cite: aws/eks-charts @ v0.0.242, stable/aws-load-balancer-controller/Chart.yaml
    line 5 (``appVersion: v3.5.0``); kubernetes-sigs/aws-load-balancer-controller @
    v3.5.0, docs/install/iam_policy.json (the file, reindented).
    """
    row = load_upstream()["charts"][NAME]
    for config in load_environments(CONFIG_DIR):
        assert str(config.platform.charts[NAME].version) == str(row["version"])
    assert row["facts"]["app_version"] == controller_addon.PUBLISHED_POLICY_VERSION


def test_controller_tag_tests_name_this_cluster(controller: list[dict[str, Any]]) -> None:
    """The published policy's ``Null: false`` ("any cluster's tag") becomes
    ``StringEquals`` this cluster's name on every statement that had it."""
    tag = controller_addon.CLUSTER_TAG
    published = json.loads(controller_addon.PUBLISHED_POLICY.read_text(encoding="utf-8"))[
        "Statement"
    ]
    assert len(controller) == len(published)
    scoped = 0
    for before, after in zip(published, controller, strict=True):
        assert actions(after) == actions(before)
        null_before = before.get("Condition", {}).get("Null", {})
        for key, value in null_before.items():
            if value == "false":
                assert after["Condition"]["StringEquals"][key] == CLUSTER
                assert key not in after["Condition"].get("Null", {})
                scoped += 1
            else:  # "true": the request must not (re)set the tag; kept as published
                assert after["Condition"]["Null"][key] == "true"
    assert scoped == 7  # every Null "false" of the published v3.5.0 policy
    text = json.dumps(controller)
    assert f'"aws:ResourceTag/{tag}": "false"' not in text
    assert f'"aws:RequestTag/{tag}": "false"' not in text


def test_controller_arns_name_this_region_and_account(controller: list[dict[str, Any]]) -> None:
    arns = [r for s in controller for r in resources(s) if r != "*"]
    assert arns
    for arn in arns:
        assert arn.startswith(
            (
                "arn:aws:ec2:eu-west-1:123456789012:",
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:",
            )
        ), arn


def test_controller_partition() -> None:
    other = controller_addon.statements(replace(IDENTITY_INPUTS, partition="aws-us-gov"))
    assert "arn:aws:" not in json.dumps(other)


def test_role_keeps_its_construct_id() -> None:
    """The role's address from before the registry (``load-balancer-controller``)."""
    assert controller_addon.ADDON.identity_id == "load-balancer-controller"


# --- values ----------------------------------------------------------------------------------


def test_load_balancer_controller_values(platform: Platform) -> None:
    values, config = platform.values(NAME), platform.config
    assert values["clusterName"] == config.cluster_name
    assert values["region"] == config.region
    assert f"{config.stack_prefix}-network" in values["vpcId"]
    assert values["defaultSSLPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"


def test_alb_ingress_class_is_not_the_default(platform: Platform) -> None:
    """An Ingress reaches the ALB controller only by naming its class (chart 3.5.0:
    ``ingressClassConfig.default`` annotates the IngressClass is-default-class)."""
    values = platform.values(NAME)
    assert values["ingressClassConfig"] == {"default": False}
    assert values["createIngressClassResource"] is True
    assert values["ingressClass"] == "alb"


def test_alb_controller_makes_nothing_the_admission_policy_cannot_see(platform: Platform) -> None:
    """No scheme means internal (what the policy assumes), and no Gateway API
    load balancers (on by default in controller v3.5.0; the policy guards
    Ingresses and Services only)."""
    values = platform.values(NAME)
    assert values["defaultLoadBalancerScheme"] == "internal"
    assert values["controllerConfig"]["featureGates"] == {
        "ALBGatewayAPI": False,
        "NLBGatewayAPI": False,
    }


def test_no_release_renders_a_private_key_into_its_record(platform: Platform) -> None:
    # Helm's release records are ConfigMaps (the view policy reads them): the
    # load balancer controller's chart would render its webhook's tls.key into
    # its templates unless cert-manager issues it (chart templates/webhook.yaml).
    assert platform.values(NAME)["enableCertManager"] is True
    depends = platform.releases()[NAME]["depends_on"]
    assert platform.ref("cert-manager") in depends
