"""The 6.x → 5.x compatibility transform: what it changes and what it reports."""

from __future__ import annotations

import copy
from typing import Any

from kreo_infra.tfcheck.compat import SIX_ONLY_ARGUMENTS, needs_transform, to_provider_5

TAGS = {"tags": {"Project": "kreo"}}


def stack(**sections: Any) -> dict[str, Any]:
    return {
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "6.25.0"}}},
        "provider": {
            "aws": [
                {"region": "eu-west-1", "default_tags": [TAGS]},
                {"alias": "dr", "region": "us-west-2", "default_tags": [TAGS]},
            ]
        },
        **sections,
    }


def test_needs_transform_only_from_6_to_5() -> None:
    assert needs_transform("6.25.0", "5.100.0")
    assert not needs_transform("6.25.0", "6.25.0")
    assert not needs_transform("5.100.0", "5.100.0")
    assert not needs_transform("7.0.0", "5.100.0")


def test_version_constraint_set_to_the_plugin_and_reported() -> None:
    out, report = to_provider_5(stack(), "s", "5.100.0")
    assert out["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"
    assert report.provider_version == ("6.25.0", "5.100.0")
    assert report.lines() == ["aws provider 6.25.0 checked with 5.100.0"]


def test_the_input_is_not_modified() -> None:
    original = stack(resource={"aws_kms_key": {"k": {"region": "us-east-1"}}})
    before = copy.deepcopy(original)
    to_provider_5(original, "s", "5.100.0")
    assert original == before


def test_region_becomes_an_aliased_copy_of_the_default_provider() -> None:
    out, report = to_provider_5(
        stack(resource={"aws_kms_key": {"k": {"region": "us-east-1", "description": "x"}}}),
        "s",
        "5.100.0",
    )
    key = out["resource"]["aws_kms_key"]["k"]
    assert "region" not in key
    assert key["provider"] == "aws.compat-us-east-1"
    clone = next(p for p in out["provider"]["aws"] if p.get("alias") == "compat-us-east-1")
    assert clone == {"alias": "compat-us-east-1", "region": "us-east-1", "default_tags": [TAGS]}
    assert report.regions == ["aws_kms_key.k: us-east-1"]


def test_one_alias_per_region_however_many_resources() -> None:
    out, _ = to_provider_5(
        stack(
            resource={
                "aws_kms_key": {"a": {"region": "us-east-1"}, "b": {"region": "us-east-1"}},
                "aws_wafv2_web_acl": {"w": {"region": "us-east-1"}},
            }
        ),
        "s",
        "5.100.0",
    )
    aliases = [p.get("alias") for p in out["provider"]["aws"]]
    assert aliases == [None, "dr", "compat-us-east-1"]


def test_region_on_an_aliased_resource_copies_that_provider() -> None:
    out, _ = to_provider_5(
        stack(resource={"aws_s3_bucket": {"b": {"provider": "aws.dr", "region": "eu-west-2"}}}),
        "s",
        "5.100.0",
    )
    assert out["resource"]["aws_s3_bucket"]["b"]["provider"] == "aws.dr-eu-west-2"
    clone = next(p for p in out["provider"]["aws"] if p.get("alias") == "dr-eu-west-2")
    assert clone["region"] == "eu-west-2"


def test_region_equal_to_the_provider_region_is_dropped_without_alias() -> None:
    out, report = to_provider_5(
        stack(resource={"aws_kms_key": {"k": {"region": "eu-west-1"}}}), "s", "5.100.0"
    )
    assert out["resource"]["aws_kms_key"]["k"] == {}
    assert len(out["provider"]["aws"]) == 2
    assert report.regions == ["aws_kms_key.k: eu-west-1"]


def test_data_sources_move_too_but_aws_region_keeps_its_own_argument() -> None:
    out, _ = to_provider_5(
        stack(
            data={
                "aws_region": {"r": {"region": "us-east-1"}},
                "aws_lb": {"l": {"region": "us-east-1"}},
            }
        ),
        "s",
        "5.100.0",
    )
    assert out["data"]["aws_region"]["r"] == {"region": "us-east-1"}
    assert out["data"]["aws_lb"]["l"] == {"provider": "aws.compat-us-east-1"}


def test_six_only_arguments_are_dropped_and_named() -> None:
    assert SIX_ONLY_ARGUMENTS["aws_eks_cluster"] == ("deletion_protection",)
    out, report = to_provider_5(
        stack(resource={"aws_eks_cluster": {"c": {"name": "x", "deletion_protection": True}}}),
        "s",
        "5.100.0",
    )
    assert out["resource"]["aws_eks_cluster"]["c"] == {"name": "x"}
    assert report.dropped == ["aws_eks_cluster.c.deletion_protection"]
    assert "6.x-only argument not checked: aws_eks_cluster.c.deletion_protection" in report.lines()


def test_six_only_arguments_of_a_nested_block_are_dropped_and_named() -> None:
    repair = {
        "enabled": True,
        "max_parallel_nodes_repaired_count": 1,
        "max_unhealthy_node_threshold_count": 1,
    }
    group = {"node_group_name": "g", "node_repair_config": repair}
    out, report = to_provider_5(
        stack(resource={"aws_eks_node_group": {"g": group}}), "s", "5.100.0"
    )
    assert out["resource"]["aws_eks_node_group"]["g"]["node_repair_config"] == {"enabled": True}
    assert report.dropped == [
        "aws_eks_node_group.g.node_repair_config.max_parallel_nodes_repaired_count",
        "aws_eks_node_group.g.node_repair_config.max_unhealthy_node_threshold_count",
    ]
    # Blocks as lists (Terraform JSON allows both) and groups without the block.
    listed = {"node_group_name": "g", "node_repair_config": [dict(repair)]}
    out, _ = to_provider_5(stack(resource={"aws_eks_node_group": {"g": listed}}), "s", "5.100.0")
    assert out["resource"]["aws_eks_node_group"]["g"]["node_repair_config"] == [{"enabled": True}]
    bare = {"node_group_name": "g"}
    out, report = to_provider_5(stack(resource={"aws_eks_node_group": {"g": bare}}), "s", "5.100.0")
    assert out["resource"]["aws_eks_node_group"]["g"] == bare
    assert report.dropped == []


def test_proxy_iam_auth_scheme_dropped_with_the_auth_block_5x_requires() -> None:
    # 6.x: default_auth_scheme = "IAM_AUTH" (end-to-end IAM, no auth block);
    # 5.100 has no such argument and requires one auth block.
    proxy = {"name": "p", "default_auth_scheme": "IAM_AUTH", "require_tls": True}
    out, report = to_provider_5(stack(resource={"aws_db_proxy": {"p": proxy}}), "s", "5.100.0")
    body = out["resource"]["aws_db_proxy"]["p"]
    assert "default_auth_scheme" not in body
    (auth,) = body["auth"]
    assert auth["auth_scheme"] == "SECRETS"
    assert report.dropped == ["aws_db_proxy.p.default_auth_scheme"]
    assert report.placeholders == ["aws_db_proxy.p.auth"]
    assert "5.x-required placeholder, not ours: aws_db_proxy.p.auth" in report.lines()
    kept = {"name": "p", "default_auth_scheme": "IAM_AUTH", "auth": [{"auth_scheme": "SECRETS"}]}
    out, _ = to_provider_5(stack(resource={"aws_db_proxy": {"p": kept}}), "s", "5.100.0")
    assert out["resource"]["aws_db_proxy"]["p"]["auth"] == [{"auth_scheme": "SECRETS"}]


def test_other_providers_resources_untouched() -> None:
    body = {"region": "x", "deletion_protection": True}
    out, report = to_provider_5(stack(resource={"helm_release": {"r": body}}), "s", "5.100.0")
    assert out["resource"]["helm_release"]["r"] == body
    assert report.regions == []


def test_a_stack_without_aws_is_unchanged() -> None:
    document = {"terraform": {"required_providers": {"helm": {"version": "3.1.1"}}}}
    out, report = to_provider_5(document, "s", "5.100.0")
    assert out == document
    assert not report.changed
