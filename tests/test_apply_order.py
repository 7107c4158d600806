"""Ordering Terraform cannot infer from references, that AWS enforces at apply time.

Found by tier 3 (apply against the emulator): without it the first apply fails
or loses data depending on which call Terraform happens to make first.
"""

from __future__ import annotations

from tests.conftest import iter_resources


def test_access_logging_waits_for_the_log_buckets_policy(synthesis, stack_name: str) -> None:
    """``PutBucketLogging`` fails with ``InvalidTargetBucketForLogging`` until the target
    bucket's policy lets ``logging.s3.amazonaws.com`` write (S3 User Guide, "Permissions
    for log delivery"), and logs before that grant are lost: every
    ``aws_s3_bucket_logging`` depends on the target bucket's ``aws_s3_bucket_policy``."""
    stack = synthesis.stack(stack_name)
    policies = {
        body["bucket"]: f"aws_s3_bucket_policy.{name}"
        for rtype, name, body in iter_resources(stack)
        if rtype == "aws_s3_bucket_policy"
    }
    for rtype, name, body in iter_resources(stack):
        if rtype != "aws_s3_bucket_logging":
            continue
        policy = policies.get(body["target_bucket"])
        assert policy is not None, f"{name}: no policy on the target bucket in this stack"
        assert policy in body.get("depends_on", []), f"{name} does not wait for {policy}"
