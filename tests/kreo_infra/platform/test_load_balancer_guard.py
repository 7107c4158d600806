"""The admission policies of charts/kreo-platform (templates/load-balancer-guard.yaml):
no load balancer faces the internet without the environment's WAF.

The rendered policies' CEL is evaluated offline (tests/kreo_infra/platform/cel.py)
against the marketplace chart's rendered Ingress and Services, which must pass,
and against objects that must not.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import Synthesis
from tests.kreo_infra.marketplace import test_chart as marketplace
from tests.kreo_infra.platform import cel
from tests.kreo_infra.platform.test_chart import CHART, stack_values

Policies = dict[str, dict[str, Any]]

INGRESS_POLICY = "kreo-internet-facing-ingress-needs-waf"
SERVICE_POLICY = "kreo-load-balancer-services-internal"
CLASS_POLICY = "kreo-one-load-balancer-ingress-class"
ALB = "alb.ingress.kubernetes.io/"


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    from tests.runtime.capacity import render_chart

    return render_chart(CHART, values, name="kreo-platform", namespace="kube-system")


@pytest.fixture(scope="module")
def platform(env_name: str, synthesis: Synthesis) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = stack_values(synthesis, env_name)
    return values, render(values)


@pytest.fixture(scope="module")
def policies(platform: tuple[dict[str, Any], list[dict[str, Any]]]) -> Policies:
    _, documents = platform
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == "ValidatingAdmissionPolicy"}


@pytest.fixture(scope="module")
def app_objects(env_name: str, synthesis: Synthesis) -> list[dict[str, Any]]:
    return marketplace.render(marketplace.stack_values(synthesis, env_name))


def admit(policies: Policies, document: dict[str, Any]) -> cel.Verdict:
    verdicts = [cel.admit(policy, document) for policy in policies.values()]
    return cel.Verdict(
        all(v.allowed for v in verdicts), tuple(m for v in verdicts for m in v.messages)
    )


def app_ingress(app_objects: list[dict[str, Any]]) -> dict[str, Any]:
    (ingress,) = [d for d in app_objects if d["kind"] == "Ingress"]
    return copy.deepcopy(ingress)


def test_every_policy_is_bound_to_deny(platform: tuple[dict[str, Any], list[dict[str, Any]]]):
    _, documents = platform
    policies = {
        d["metadata"]["name"] for d in documents if d["kind"] == "ValidatingAdmissionPolicy"
    }
    bindings = {
        d["spec"]["policyName"]: d["spec"]
        for d in documents
        if d["kind"] == "ValidatingAdmissionPolicyBinding"
    }
    assert policies == {INGRESS_POLICY, SERVICE_POLICY, CLASS_POLICY} == set(bindings)
    assert all(b["validationActions"] == ["Deny"] for b in bindings.values())
    for document in documents:
        if document["kind"] == "ValidatingAdmissionPolicy":
            assert document["apiVersion"] == "admissionregistration.k8s.io/v1"
            assert document["spec"]["failurePolicy"] == "Fail"


def test_the_guard_names_the_environments_web_acl(
    platform: tuple[dict[str, Any], list[dict[str, Any]]], env_name: str, synthesis: Synthesis
) -> None:
    values, _ = platform
    config = synthesis.environment(env_name)
    guard = values["loadBalancerGuard"]
    assert guard["webAclArn"].startswith(
        f"${{data.terraform_remote_state.cross-stack-reference-input-{config.stack_prefix}-edge"
    )
    assert guard["ingressClass"] == "alb"


def test_the_marketplace_release_passes(policies: Policies, app_objects: list[dict[str, Any]]):
    """The app chart's internet-facing Ingress carries the same web ACL (the edge
    layer's output, referenced by both stacks) and its Services are ClusterIP."""
    ingress = app_ingress(app_objects)
    assert ingress["metadata"]["annotations"][f"{ALB}scheme"] == "internet-facing"
    for document in app_objects:
        assert admit(policies, document).allowed, document["metadata"]["name"]


def test_the_platform_charts_own_objects_pass(
    policies: Policies, platform: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    for document in platform[1]:
        assert admit(policies, document).allowed, document["metadata"]["name"]


@pytest.mark.parametrize(
    ("change", "denied"),
    [
        ({"remove": f"{ALB}wafv2-acl-arn"}, True),
        ({"set": {f"{ALB}wafv2-acl-arn": "none"}}, True),
        (
            {
                "set": {
                    f"{ALB}wafv2-acl-arn": "arn:aws:wafv2:us-east-1:123456789012:regional/"
                    "webacl/other/0"
                }
            },
            True,
        ),
        ({"set": {f"{ALB}wafv2-acl-name": "none"}}, True),
        # Internal load balancers need no WAF (the controller's default scheme).
        ({"remove": f"{ALB}wafv2-acl-arn", "set": {f"{ALB}scheme": "internal"}}, False),
        ({"remove": [f"{ALB}wafv2-acl-arn", f"{ALB}scheme"]}, False),
        # The optional NLB in front of the ALB faces the internet too.
        (
            {
                "remove": f"{ALB}wafv2-acl-arn",
                "set": {f"{ALB}scheme": "internal", f"{ALB}frontend-nlb-scheme": "internet-facing"},
            },
            True,
        ),
        # Without a class, or by the legacy annotation, it is still the ALB's.
        ({"remove": f"{ALB}wafv2-acl-arn", "class": None}, True),
        (
            {
                "remove": f"{ALB}wafv2-acl-arn",
                "class": None,
                "set": {"kubernetes.io/ingress.class": "alb"},
            },
            True,
        ),
        # Another controller's Ingress is not the ALB's concern.
        ({"remove": f"{ALB}wafv2-acl-arn", "class": "other"}, False),
    ],
)
def test_internet_facing_ingress_needs_the_waf(
    policies: Policies, app_objects: list[dict[str, Any]], change: dict[str, Any], denied: bool
) -> None:
    ingress = app_ingress(app_objects)
    annotations = ingress["metadata"]["annotations"]
    removed = change.get("remove", [])
    for key in [removed] if isinstance(removed, str) else removed:
        annotations.pop(key)
    annotations.update(change.get("set", {}))
    if "class" in change:
        if change["class"] is None:
            ingress["spec"].pop("ingressClassName")
        else:
            ingress["spec"]["ingressClassName"] = change["class"]
    verdict = cel.admit(policies[INGRESS_POLICY], ingress)
    assert verdict.allowed is not denied, verdict.messages


def service(type_: str, annotations: dict[str, str] | None = None, **spec: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "s",
            "namespace": "n",
            **({"annotations": annotations} if annotations else {}),
        },
        "spec": {"type": type_, "ports": [{"port": 443}], **spec},
    }


NLB = "service.k8s.aws/nlb"
SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
LEGACY_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"


@pytest.mark.parametrize(
    ("document", "denied"),
    [
        (service("ClusterIP"), False),
        (service("NodePort"), False),
        # The cloud provider's legacy load balancer: internet-facing by default, no WAF.
        (service("LoadBalancer"), True),
        (service("LoadBalancer", {LEGACY_INTERNAL: "true"}), True),
        (service("LoadBalancer", loadBalancerClass=NLB), False),
        (service("LoadBalancer", {SCHEME: "internal"}, loadBalancerClass=NLB), False),
        (service("LoadBalancer", {SCHEME: "internet-facing"}, loadBalancerClass=NLB), True),
        (service("LoadBalancer", {LEGACY_INTERNAL: "false"}, loadBalancerClass=NLB), True),
        (service("LoadBalancer", loadBalancerClass="example.com/other"), True),
    ],
)
def test_load_balancer_services_stay_internal(
    policies: Policies, document: dict[str, Any], denied: bool
) -> None:
    verdict = cel.admit(policies[SERVICE_POLICY], document)
    assert verdict.allowed is not denied, verdict.messages


def ingress_class(name: str, controller: str, parameters: bool = False) -> dict[str, Any]:
    """As the controller's chart 3.5.0 renders it (templates/ingressclass.yaml)."""
    spec: dict[str, Any] = {"controller": controller}
    if parameters:
        spec["parameters"] = {
            "apiGroup": "elbv2.k8s.aws",
            "kind": "IngressClassParams",
            "name": "p",
        }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": name},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("document", "denied"),
    [
        (ingress_class("alb", "ingress.k8s.aws/alb"), False),
        # IngressClassParams may force scheme internet-facing past the annotation check.
        (ingress_class("alb", "ingress.k8s.aws/alb", parameters=True), True),
        (ingress_class("alb-public", "ingress.k8s.aws/alb"), True),
        (ingress_class("other", "example.com/other", parameters=True), False),
    ],
)
def test_one_ingress_class_without_parameters(
    policies: Policies, document: dict[str, Any], denied: bool
) -> None:
    verdict = cel.admit(policies[CLASS_POLICY], document)
    assert verdict.allowed is not denied, verdict.messages


def test_the_evaluator_refuses_what_it_does_not_know() -> None:
    """A policy using CEL beyond the evaluator's subset fails here, loudly."""
    from lark.exceptions import LarkError

    with pytest.raises(LarkError):
        cel.parse("object.metadata.name.startsWith('x')")
    with pytest.raises(cel.CelError, match="no such key"):
        cel._Evaluator({"object": {}}, {}).eval(cel.parse("object.spec == ''"))
