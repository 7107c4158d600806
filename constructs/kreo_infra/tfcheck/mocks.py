"""The ``terraform test`` file of one stack: mock providers, fed remote state.

Tier 2 plans and applies a stack with ``mock_provider "aws"`` (no AWS is
called; Terraform still evaluates every expression, runs the provider's own
argument validation and builds the dependency graph), then plans again. What a
mock provider cannot know is modelled here, each rule on an AWS behaviour:

* computed ``arn``/``*_arn`` attributes get a well-formed ARN of their service
  (the provider validates ARNs it is given; a random mock string is not one);
* ``aws_partition`` / ``aws_caller_identity`` / ``aws_region`` answer as a real
  account in the stack's region would;
* an ACM certificate returns one DNS validation option per name it covers
  (ACM ``DescribeCertificate``: ``DomainValidationOptions`` has an entry for the
  domain name and for each subject alternative name), known only after apply;
* every ``terraform_remote_state`` read returns the outputs the producing stack
  published when it was applied earlier in the same chain;
* ephemeral resources (generated passwords) are not mockable ("The provider
  mocking mechanism does not yet support ephemeral resource types", Terraform
  1.11): :func:`literal_ephemerals` replaces each reference with a literal and
  says so. Tiers 1 and 3 keep the real blocks.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

_EPHEMERAL_REFERENCE = re.compile(r"ephemeral\.([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)")

MOCK_ACCOUNT = "123456789012"
MOCK_PARTITION = "aws"

_SERVICE = {
    "cloudwatch_log": "logs",
    "cloudwatch_metric": "cloudwatch",
    "cloudwatch_dashboard": "cloudwatch",
    "db": "rds",
    "lb": "elasticloadbalancing",
    "wafv2": "wafv2",
    "route53": "route53",
    "s3": "s3",
    "iam": "iam",
    "elasticache": "elasticache",
    "opensearch": "es",
    "cloudfront": "cloudfront",
}


def resource_defaults(region: str) -> dict[str, dict[str, Any]]:
    """Computed values whose *shape* AWS guarantees and the configuration relies on.

    A mock provider answers an empty list for a computed list and a random
    string for an id; these are what AWS returns instead, each found by the
    harness as a reference or validation that failed on the mock's answer.
    """
    return {
        # DescribeCluster: certificateAuthority.data and identity.oidc.issuer are
        # always set once the cluster is ACTIVE.
        "aws_eks_cluster": {
            "certificate_authority": [{"data": "bW9jay1jbHVzdGVyLWNh"}],
            "identity": [
                {"oidc": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/MOCK"}]}
            ],
        },
        # EC2 launch template ids are lt- + 17 hex digits; the node group validates it.
        "aws_launch_template": {"id": "lt-0123456789abcdef0"},
    }


def _service(resource_type: str) -> str:
    rest = resource_type.removeprefix("aws_")
    for prefix, service in _SERVICE.items():
        if rest.startswith(prefix):
            return service
    return rest.split("_")[0]


def mock_arn(resource_type: str, attribute: str, region: str) -> str:
    """A well-formed ARN for a computed ARN attribute of ``resource_type``."""
    service = _service(resource_type)
    resource = resource_type.removeprefix("aws_")
    global_service = service in {"iam", "route53", "cloudfront", "s3"}
    where = "" if global_service else region
    account = "" if service == "s3" else MOCK_ACCOUNT
    return f"arn:{MOCK_PARTITION}:{service}:{where}:{account}:{resource}/mock-{attribute}"


def computed_arn_attributes(block: Mapping[str, Any]) -> list[str]:
    """Top-level computed string attributes named like ARNs, from a provider schema block."""
    names = []
    for name, attribute in block.get("attributes", {}).items():
        is_arn = name == "arn" or name.endswith("_arn")
        if is_arn and attribute.get("computed") and attribute.get("type") == "string":
            names.append(name)
    return sorted(names)


def data_defaults(region: str) -> dict[str, dict[str, Any]]:
    """What the account-describing data sources answer in a real account."""
    return {
        "aws_partition": {
            "partition": MOCK_PARTITION,
            "dns_suffix": "amazonaws.com",
            "reverse_dns_prefix": "com.amazonaws",
        },
        "aws_caller_identity": {
            "account_id": MOCK_ACCOUNT,
            "arn": f"arn:{MOCK_PARTITION}:iam::{MOCK_ACCOUNT}:role/mock-caller",
            "user_id": "AROAMOCKCALLER",
        },
        "aws_region": {"name": region, "description": region},
        "aws_availability_zone": {"name": f"{region}a", "region": region},
    }


def mock_provider_blocks(
    stack: Mapping[str, Any], schema: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One ``mock_provider "aws"`` per provider configuration of the stack."""
    providers = stack.get("provider", {}).get("aws", [])
    if isinstance(providers, dict):
        providers = [providers]
    resource_schemas = schema.get("resource_schemas", {})
    data_schemas = schema.get("data_source_schemas", {})
    blocks = []
    for provider in providers or [{}]:
        region = provider.get("region", "us-east-1")
        mock_resource = {}
        shapes = resource_defaults(region)
        for rtype in sorted(stack.get("resource", {})):
            block = resource_schemas.get(rtype, {}).get("block", {})
            defaults = {a: mock_arn(rtype, a, region) for a in computed_arn_attributes(block)}
            defaults.update(shapes.get(rtype, {}))
            if defaults:
                mock_resource[rtype] = {"defaults": defaults}
        mock_data = {}
        account = data_defaults(region)
        for dtype in sorted(stack.get("data", {})):
            if not dtype.startswith("aws_"):
                continue
            block = data_schemas.get(dtype, {}).get("block", {})
            attributes = block.get("attributes", {})
            # A data source is read again on every plan, and a mock answers a new
            # random string each time: every computed string gets a fixed value,
            # so a second plan differs only where the configuration does.
            defaults = {
                name: f"mock-{dtype.removeprefix('aws_')}-{name}"
                for name, a in attributes.items()
                if a.get("computed") and a.get("type") == "string"
            }
            defaults.update({a: mock_arn(dtype, a, region) for a in computed_arn_attributes(block)})
            computed = {name for name, a in attributes.items() if a.get("computed")}
            defaults.update({k: v for k, v in account.get(dtype, {}).items() if k in computed})
            if defaults:
                mock_data[dtype] = {"defaults": defaults}
        body: dict[str, Any] = {}
        if "alias" in provider:
            body["alias"] = provider["alias"]
        if mock_resource:
            body["mock_resource"] = mock_resource
        if mock_data:
            body["mock_data"] = mock_data
        blocks.append(body)
    return blocks


def certificate_overrides(stack: Mapping[str, Any], region: str) -> list[dict[str, Any]]:
    """ACM certificates answer one DNS validation option per name (after apply).

    An override replaces the mock provider's defaults for that resource, so the
    certificate's ARN is set here too.
    """
    overrides = []
    for name, body in stack.get("resource", {}).get("aws_acm_certificate", {}).items():
        domains = [body["domain_name"], *(body.get("subject_alternative_names") or [])]
        options = [
            {
                "domain_name": domain,
                "resource_record_name": f"_mock.{domain}.",
                "resource_record_type": "CNAME",
                "resource_record_value": f"_mock.{domain}.acm-validations.aws.",
            }
            for domain in domains
        ]
        overrides.append(
            {
                "target": f"aws_acm_certificate.{name}",
                "values": {
                    "arn": mock_arn("aws_acm_certificate", "arn", region),
                    "domain_validation_options": options,
                },
            }
        )
    return overrides


def _default_region(stack: Mapping[str, Any]) -> str:
    providers = stack.get("provider", {}).get("aws", [])
    if isinstance(providers, dict):
        providers = [providers]
    default = next((p for p in providers if "alias" not in p), {})
    return default.get("region", "us-east-1")


def remote_state_producers(stack: Mapping[str, Any]) -> dict[str, str]:
    """``terraform_remote_state`` name → the state key it reads."""
    found = {}
    for name, body in stack.get("data", {}).get("terraform_remote_state", {}).items():
        found[name] = body.get("config", {}).get("key", "")
    return found


def chain_test_file(
    stack: Mapping[str, Any],
    schema: Mapping[str, Any],
    remote_outputs: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The ``.tftest.json`` of tier 2: apply from empty state, then plan again.

    ``remote_outputs`` maps each ``terraform_remote_state`` data source name to
    the outputs (name → value) it must return.
    """
    overrides = [
        {"target": f"data.terraform_remote_state.{name}", "values": {"outputs": outputs}}
        for name, outputs in sorted(remote_outputs.items())
    ]
    mocked: dict[str, Any] = {"aws": mock_provider_blocks(stack, schema)}
    for name in stack.get("terraform", {}).get("required_providers", {}):
        if name != "aws":
            # helm, kubernetes: plain mocks (the real ones would dial the cluster).
            configs = stack.get("provider", {}).get(name) or [{}]
            configs = configs if isinstance(configs, list) else [configs]
            mocked[name] = [{"alias": c["alias"]} if "alias" in c else {} for c in configs]
    document: dict[str, Any] = {
        "mock_provider": mocked,
        "run": {"apply": {"command": "apply"}, "replan": {"command": "plan"}},
    }
    if overrides:
        document["override_data"] = overrides
    certificates = certificate_overrides(stack, _default_region(stack))
    if certificates:
        document["override_resource"] = certificates
    return document


def literal_ephemerals(stack: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of ``stack`` without ``ephemeral`` blocks, each reference to one
    replaced by a string literal, and the ``type.name`` of each block replaced."""
    out = copy.deepcopy(dict(stack))
    blocks = out.pop("ephemeral", {})
    replaced = sorted(f"{kind}.{name}" for kind, items in blocks.items() for name in items)
    if not replaced:
        return out, []
    text = _EPHEMERAL_REFERENCE.sub(lambda m: f'\\"mock-ephemeral-{m.group(2)}\\"', json.dumps(out))
    return json.loads(text), replaced
