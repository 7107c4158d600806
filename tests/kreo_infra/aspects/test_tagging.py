"""Every taggable AWS resource carries the standard tags."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.tags import TAG_KEYS
from tests.conftest import Synthesis


def _has_tags_argument(node: object) -> bool:
    """Independent of the aspect: the generated binding declares a ``tags`` argument."""
    from cdktf import TerraformResource

    return isinstance(node, TerraformResource) and hasattr(type(node), "tags_input")


def test_every_taggable_resource_in_every_stack_is_tagged(synthesis: Synthesis) -> None:
    from cdktf import TerraformStack

    checked = 0
    for stack in synthesis.app.node.children:
        assert isinstance(stack, TerraformStack)
        body = synthesis.stack(stack.node.id)
        expected = synthesis.tags(stack.node.id)
        assert tuple(expected) == TAG_KEYS
        taggable = [n for n in stack.node.find_all() if _has_tags_argument(n)]
        checked += len(taggable)
        for node in taggable:
            synthesized = body["resource"][node.terraform_resource_type][node.friendly_unique_id]
            assert synthesized.get("tags", {}).items() >= expected.items(), node.node.path
    assert checked > 100, "the walk found too few taggable resources to be checking anything"


def test_provider_default_tags_match(synthesis: Synthesis, stack_name: str) -> None:
    expected = synthesis.tags(stack_name)
    for provider in synthesis.stack(stack_name)["provider"]["aws"]:
        assert provider["default_tags"] == [{"tags": expected}]


TAGS = {"Project": "kreo", "Environment": "test"}


@pytest.fixture(scope="module")
def tagged(providers: None) -> dict[str, Any]:
    """A throwaway stack with the aspect: tagged, untagged and untaggable nodes."""
    from cdktf import Aspects, TerraformStack
    from cdktf import Testing as CdktfTesting
    from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
    from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import (
        S3BucketPublicAccessBlock,
    )

    from kreo_infra.aspects import TaggingAspect

    stack = TerraformStack(CdktfTesting.app(), "tagging-test")
    AwsProvider(stack, "aws", region="us-east-1")
    S3Bucket(stack, "bucket", tags={"Name": "media", "Environment": "wrong"})
    S3Bucket(stack, "bare")
    S3BucketPublicAccessBlock(stack, "block", bucket="b")
    DataAwsCallerIdentity(stack, "me")
    Aspects.of(stack).add(TaggingAspect(TAGS))
    return json.loads(CdktfTesting.synth(stack))


def test_resource_without_tags_gets_them(tagged: dict[str, Any]) -> None:
    assert tagged["resource"]["aws_s3_bucket"]["bare"]["tags"] == TAGS


def test_own_tags_kept_and_standard_tags_win(tagged: dict[str, Any]) -> None:
    assert tagged["resource"]["aws_s3_bucket"]["bucket"]["tags"] == {
        "Name": "media",
        "Project": "kreo",
        "Environment": "test",
    }


def test_resource_without_tags_argument_untouched(tagged: dict[str, Any]) -> None:
    assert "tags" not in tagged["resource"]["aws_s3_bucket_public_access_block"]["block"]


def test_data_sources_untouched(tagged: dict[str, Any]) -> None:
    assert "tags" not in tagged["data"]["aws_caller_identity"]["me"]


def test_is_taggable_only_for_aws_resources_with_tags(providers: None) -> None:
    from cdktf import TerraformStack
    from cdktf import Testing as CdktfTesting
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
    from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import (
        S3BucketPublicAccessBlock,
    )

    from kreo_infra.aspects import is_taggable

    stack = TerraformStack(CdktfTesting.app(), "s")
    assert not is_taggable(stack)
    assert not is_taggable(AwsProvider(stack, "aws", region="us-east-1"))
    assert not is_taggable(S3BucketPublicAccessBlock(stack, "block", bucket="b"))
    assert is_taggable(S3Bucket(stack, "bucket"))
