"""kreo_infra.storage.buckets: the shared S3 building blocks."""

from __future__ import annotations

from typing import Any

import pytest

from kreo_infra.errors import PropsError
from tests.conftest import synth_stack


def _resource(stack: Any, resource_type: str) -> dict[str, Any]:
    (body,) = synth_stack(stack)["resource"][resource_type].values()
    return body


def test_private_bucket_defaults(stack: Any) -> None:
    """Public access blocked, versioned, SSE (AES256 without a key), owner-enforced,
    TLS only, incomplete uploads aborted, old versions expired."""
    from kreo_infra.storage.buckets import ABORT_MULTIPART_DAYS, PrivateBucket

    PrivateBucket(stack, "b", name="b", noncurrent_version_expiry_days=3)
    block = _resource(stack, "aws_s3_bucket_public_access_block")
    assert all(
        block[k]
        for k in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    assert _resource(stack, "aws_s3_bucket_versioning")["versioning_configuration"] == {
        "status": "Enabled"
    }
    ownership = _resource(stack, "aws_s3_bucket_ownership_controls")
    assert ownership["rule"]["object_ownership"] == "BucketOwnerEnforced"
    rules = _resource(stack, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert any(
        r.get("abort_incomplete_multipart_upload", [{}])[0].get("days_after_initiation")
        == ABORT_MULTIPART_DAYS
        for r in rules
    )
    assert any(
        r.get("noncurrent_version_expiration", [{}])[0].get("noncurrent_days") == 3 for r in rules
    )
    assert "aws:SecureTransport" in _resource(stack, "aws_s3_bucket_policy")["policy"]
    (rule,) = _resource(stack, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"


def test_private_bucket_ownership_validated(stack: Any) -> None:
    from kreo_infra.storage.buckets import PrivateBucket

    with pytest.raises(PropsError, match="object_ownership='ObjectWriter'"):
        PrivateBucket(
            stack, "b", name="b", noncurrent_version_expiry_days=1, object_ownership="ObjectWriter"
        )


def test_replica_bucket_name_and_origin_domain() -> None:
    from kreo_infra.storage.buckets import replica_bucket_name, s3_origin_domain

    assert replica_bucket_name("kreo-media") == "kreo-media-dr"
    assert s3_origin_domain("kreo-media", "us-west-2") == "kreo-media.s3.us-west-2.amazonaws.com"
