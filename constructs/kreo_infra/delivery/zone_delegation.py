"""Cross-account DNS: the parent zone's account lets a child environment delegate.

Production's account holds the apex zone (``kreo.com``); staging's account holds
``staging.kreo.com``, whose NS record must go into the apex zone. The apex
owner's bootstrap creates, per child environment, two roles its pipeline assumes
through the child edge stack's ``parent-zone`` provider:

* ``kreo-dns-delegation-<env>``: trusted by the child's deploy role only; may
  change exactly the NS record set of the child's domain in this account's
  zones (Route 53's ``ChangeResourceRecordSetsNormalizedRecordNames`` and
  ``…RecordTypes`` condition keys), and read zones;
* ``kreo-dns-reader-<env>``: trusted by the child's plan and deploy roles; reads
  zones only. Plans use it (the ``kreo-parent-zone`` profile ``make plan``
  writes beside the edge stack; ``make apply-plan`` writes the delegation role
  there), so code of an unmerged pull request can never rewrite a delegation.

Trust names the child's account as principal and each role exactly
(``aws:PrincipalArn``), so the roles need not exist yet: the bootstraps of the
accounts can be applied in any order.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.delivery.github import MAX_SESSION_SECONDS
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import Statement, policy_document

ZONE_READS = [
    "route53:GetHostedZone",
    "route53:ListResourceRecordSets",
    "route53:ListTagsForResource",
]
"""What Terraform reads of a zone and its records (the zone data source, the record)."""

ACCOUNT_READS = ["route53:ListHostedZones", "route53:ListHostedZonesByName", "route53:GetChange"]
"""Finding a zone by name and waiting for a change: no resource to scope them to
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html)."""


def _trust(account: AwsAccount, child_account_id: str, role_names: list[str]) -> str:
    root = f"arn:{account.partition}:iam::{child_account_id}:root"
    roles = [f"arn:{account.partition}:iam::{child_account_id}:role/{r}" for r in role_names]
    return policy_document(
        [
            {
                "Sid": "TheChildEnvironmentsPipeline",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": roles}},
            }
        ]
    )


class ParentZoneAccess(Construct):
    """The delegation and reader roles of one child environment (see the module)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        account: AwsAccount,
        child_domain: str,
        child_account_id: str,
        delegation_role: str,
        reader_role: str,
        child_deploy_role: str,
        child_plan_role: str,
    ) -> None:
        if not child_account_id.isdigit() or len(child_account_id) != 12:
            raise PropsError(
                "ParentZoneAccess", "child_account_id", child_account_id, "use a 12-digit id"
            )
        if "*" in child_domain or child_domain.count(".") < 2:
            raise PropsError(
                "ParentZoneAccess", "child_domain", child_domain, "name one sub-domain"
            )
        super().__init__(scope, id)
        zones = f"arn:{account.partition}:route53:::hostedzone/*"
        reads: list[Statement] = [
            {"Sid": "ReadTheZones", "Effect": "Allow", "Action": ZONE_READS, "Resource": zones},
            {"Sid": "FindZonesAndChanges", "Effect": "Allow", "Action": ACCOUNT_READS,
             "Resource": "*"},
        ]  # fmt: skip
        delegate: Statement = {
            "Sid": "WriteTheChildsDelegationOnly",
            "Effect": "Allow",
            "Action": "route53:ChangeResourceRecordSets",
            "Resource": zones,
            "Condition": {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": [child_domain],
                    "route53:ChangeResourceRecordSetsRecordTypes": ["NS"],
                },
                # ForAllValues holds for an empty set too: demand the keys.
                "Null": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": "false",
                    "route53:ChangeResourceRecordSetsRecordTypes": "false",
                },
            },
        }
        self.roles: dict[str, IamRole] = {}
        for kind, name, trusted, statements in (
            ("delegation", delegation_role, [child_deploy_role], [*reads, delegate]),
            ("reader", reader_role, [child_deploy_role, child_plan_role], reads),
        ):
            role = IamRole(
                self,
                kind,
                name=name,
                description=f"{kind.capitalize()} of {child_domain}'s NS record in this account",
                assume_role_policy=_trust(account, child_account_id, trusted),
                max_session_duration=MAX_SESSION_SECONDS,
            )
            IamRolePolicy(
                self,
                f"{kind}-policy",
                name="parent-zone",
                role=role.id,
                policy=policy_document(statements),
            )
            self.roles[kind] = role
