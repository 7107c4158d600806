"""The SNS topic every alarm of an environment notifies, and its subscribers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import policy_document
from kreo_infra.security.kms import RotatingKey


@dataclass(frozen=True)
class Publisher:
    """Who may publish to an :class:`AlarmTopic`: one service principal, under a
    condition (its source), named in the key's and the topic's policy statements."""

    service: str
    condition: Mapping[str, Any]
    publish_sid: str
    encrypt_sid: str


def cloudwatch_alarms(account: AwsAccount, region: str) -> Publisher:
    """The default publisher: this account's CloudWatch alarms in ``region``."""
    alarms = f"arn:{account.partition}:cloudwatch:{region}:{account.account_id}:alarm:*"
    return Publisher(
        service="cloudwatch.amazonaws.com",
        condition={
            "StringEquals": {"aws:SourceAccount": account.account_id},
            "ArnLike": {"aws:SourceArn": alarms},
        },
        publish_sid="CloudWatchAlarmsOfThisAccountPublish",
        encrypt_sid="CloudWatchAlarmsEncryptNotifications",
    )


class AlarmTopic(Construct):
    """A KMS-encrypted SNS topic that only its ``publisher`` publishes to (default:
    this account's CloudWatch alarms; the security alarms pass their EventBridge rules).
    ``guarded``: its key gets the recovery keys' guard (only break-glass may disable,
    delete or re-policy it; default off).

    ``emails`` get an email subscription each (AWS sends a confirmation
    message; until it is confirmed nothing is delivered), ``pager_url`` an
    HTTPS one. ``region`` places topic and key elsewhere than the stack's region
    (alarms notify topics of their own region only: CloudFront's alarms live
    in us-east-1).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        emails: Sequence[str],
        account: AwsAccount,
        pager_url: str | None = None,
        region: str | None = None,
        publisher: Publisher | None = None,
        description: str | None = None,
        guarded: bool = False,
    ) -> None:
        if not emails:
            raise PropsError("AlarmTopic", "emails", list(emails), "name at least one address")
        if pager_url is not None and not pager_url.startswith("https://"):
            raise PropsError("AlarmTopic", "pager_url", pager_url, "use an https:// endpoint")
        super().__init__(scope, id)
        publisher = publisher or cloudwatch_alarms(account, region or account.region)
        self.key = RotatingKey(
            self,
            "key",
            alias=f"alias/{name}",
            description=description or f"Encrypts the alarm notifications of {name}",
            account=account,
            region=region,
            guards_recovery=guarded,
            statements=[
                {
                    "Sid": publisher.encrypt_sid,
                    "Effect": "Allow",
                    "Principal": {"Service": publisher.service},
                    "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                    "Resource": "*",
                    "Condition": dict(publisher.condition),
                }
            ],
        )
        self.topic = SnsTopic(
            self,
            "topic",
            name=name,
            display_name=name,
            kms_master_key_id=self.key.arn,
            region=region,
        )
        SnsTopicPolicy(
            self,
            "policy",
            arn=self.topic.arn,
            region=region,
            policy=policy_document(
                [
                    {
                        "Sid": publisher.publish_sid,
                        "Effect": "Allow",
                        "Principal": {"Service": publisher.service},
                        "Action": "sns:Publish",
                        "Resource": self.topic.arn,
                        "Condition": dict(publisher.condition),
                    },
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "sns:Publish",
                        "Resource": self.topic.arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ]
            ),
        )
        for index, email in enumerate(emails):
            SnsTopicSubscription(
                self,
                f"email-{index}",
                topic_arn=self.topic.arn,
                protocol="email",
                endpoint=email,
                region=region,
            )
        if pager_url is not None:
            SnsTopicSubscription(
                self,
                "pager",
                topic_arn=self.topic.arn,
                protocol="https",
                endpoint=pager_url,
                endpoint_auto_confirms=True,
                region=region,
            )

    @property
    def arn(self) -> str:
        return self.topic.arn
