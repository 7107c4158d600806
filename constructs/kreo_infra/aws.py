"""Where resources are created: the deploying account, its partition and region."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsAccount:
    """The account id and partition (tokens, looked up at plan time) and the region.

    Constructs that write ARNs or key policies take this one value instead of
    three loose strings.
    """

    account_id: str
    partition: str
    region: str

    def iam_role_arn(self, role_name: str) -> str:
        """The ARN of IAM role ``role_name`` in this account."""
        return f"arn:{self.partition}:iam::{self.account_id}:role/{role_name}"

    def sns_topic_arn(self, topic_name: str) -> str:
        """The ARN of SNS topic ``topic_name`` in this account and region."""
        return f"arn:{self.partition}:sns:{self.region}:{self.account_id}:{topic_name}"
