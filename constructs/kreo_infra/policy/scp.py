"""AWS Organizations service control policies (SCPs) for the workload OUs.

An SCP limits every principal of a member account, its root user included, and
nothing inside the account can detach it: the guardrails that survive a
compromised account. Each document denies for everyone except the break-glass
role (:data:`kreo_infra.delivery.guardrails.BREAK_GLASS_ROLE`; not
OrganizationAccountAccessRole: the management account can detach an SCP anyway,
and one exempt path is one path to watch). The management account attaches
them to the workload OU (docs/scp/*.json; ``python -m kreo_infra.policy.scp
--write docs/scp`` renders them, a test keeps the files equal).

Size: an SCP may hold at most 5,120 characters
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html),
so the denials are split by concern.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kreo_infra.delivery.guardrails import (
    BACKUP_DESTRUCTION,
    BREAK_GLASS_ROLE,
    GUARDS_RECOVERY,
    GUARDS_TAG,
    KEY_DESTRUCTION,
    LONG_LIVED_CREDENTIALS,
    RDS_DESTRUCTION,
    STATE_DESTRUCTION,
    VAULT_LOCK_CHANGE,
)

SCP_MAX_CHARS = 5120
ALLOWED_REGIONS = ("us-east-1", "us-west-2")
STATE_BUCKETS = "arn:aws:s3:::kreo-infra-terraform-state*"
"""Every environment's state bucket (``state.bucket``; a test checks each config)."""

GLOBAL_SERVICES = (
    # Services whose calls go to one global endpoint (us-east-1, some us-west-2)
    # whatever region the caller uses: a region deny must not catch them.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-requested-region.html
    # and AWS Control Tower's region deny control
    # https://docs.aws.amazon.com/controltower/latest/userguide/primary-region-deny-policy.html
    "account:*",
    "acm:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "budgets:*",
    "ce:*",
    "chatbot:*",
    "cloudfront:*",
    "cur:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "kms:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "s3:GetAccountPublicAccessBlock",
    "s3:ListAllMyBuckets",
    "shield:*",
    "sso:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf:*",
    "wafv2:*",
)

Document = Mapping[str, Any]


def _except_break_glass() -> dict[str, Any]:
    return {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/{BREAK_GLASS_ROLE}"}}


def _deny(sid: str, actions: Any, resource: Any = "*", **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Deny",
        "Action": sorted(actions) if not isinstance(actions, str) else actions,
        "Resource": resource,
        "Condition": {**_except_break_glass(), **condition},
    }
    return statement


def baseline() -> Document:
    """The account stays in the organization, watched, and without root or users."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _deny("StayInTheOrganization", ["organizations:LeaveOrganization"]),
            _deny(
                "CloudTrailKeepsRecording",
                [
                    "cloudtrail:DeleteTrail",
                    "cloudtrail:PutEventSelectors",
                    "cloudtrail:StopLogging",
                    "cloudtrail:UpdateTrail",
                ],
            ),
            _deny(
                "GuardDutyKeepsWatching",
                [
                    "guardduty:DeleteDetector",
                    "guardduty:DeleteMembers",
                    "guardduty:DisassociateFromAdministratorAccount",
                    "guardduty:DisassociateFromMasterAccount",
                    "guardduty:StopMonitoringMembers",
                    "guardduty:UpdateDetector",
                ],
            ),
            _deny(
                "AccessAnalyzerKeepsAnalyzing",
                [
                    "access-analyzer:DeleteAnalyzer",
                    "access-analyzer:CreateArchiveRule",
                    "access-analyzer:UpdateArchiveRule",
                ],
            ),
            _deny(
                "ConfigKeepsRecording",
                [
                    "config:DeleteConfigRule",
                    "config:DeleteConfigurationRecorder",
                    "config:DeleteDeliveryChannel",
                    "config:DeleteRetentionConfiguration",
                    "config:StopConfigurationRecorder",
                ],
            ),
            _deny("NoLongLivedCredentials", LONG_LIVED_CREDENTIALS),
            {
                # The root user of a member account does nothing (its few
                # root-only tasks go through the management account).
                "Sid": "NoRootUser",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
            },
        ],
    }


def recovery() -> Document:
    """Recovery survives any principal of the account (break-glass aside)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _deny(
                "KeysThatGuardRecoveryStay",
                KEY_DESTRUCTION,
                StringEquals={f"aws:ResourceTag/{GUARDS_TAG}": GUARDS_RECOVERY},
            ),
            _deny(
                "TheGuardTagStays",
                ["kms:TagResource", "kms:UntagResource"],
                StringEquals={f"aws:ResourceTag/{GUARDS_TAG}": GUARDS_RECOVERY},
                **{"ForAnyValue:StringEquals": {"aws:TagKeys": [GUARDS_TAG]}},
            ),
            _deny("BackupsAndSnapshotsStay", [*BACKUP_DESTRUCTION, *RDS_DESTRUCTION]),
            # The pipeline puts a new vault's lock and access policy once; the
            # policy then denies changing either to all but the break-glass role
            # (kreo_infra.backup.vault.recovery_guard). Here: no lock without a
            # minimum retention.
            _deny(
                "VaultLocksHaveAMinimum",
                VAULT_LOCK_CHANGE,
                Null={"backup:MinRetentionDays": "true"},
            ),
            _deny(
                "StateVersionsStay",
                STATE_DESTRUCTION,
                [STATE_BUCKETS, f"{STATE_BUCKETS}/*"],
            ),
        ],
    }


def regions() -> Document:
    """Nothing outside the stacks' region and the DR region (global services aside)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyTheStacksRegions",
                "Effect": "Deny",
                "NotAction": list(GLOBAL_SERVICES),
                "Resource": "*",
                "Condition": {
                    **_except_break_glass(),
                    "StringNotEquals": {"aws:RequestedRegion": list(ALLOWED_REGIONS)},
                },
            }
        ],
    }


def documents() -> dict[str, Document]:
    """File name -> SCP document, one per concern."""
    return {
        "kreo-workload-baseline.json": baseline(),
        "kreo-workload-recovery.json": recovery(),
        "kreo-workload-regions.json": regions(),
    }


def render(document: Document) -> str:
    """Deterministic JSON: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def minified_size(document: Document) -> int:
    """Characters the Organizations API counts (no whitespace outside strings)."""
    return len(json.dumps(document, separators=(",", ":")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kreo_infra.policy.scp")
    parser.add_argument("--write", type=Path, metavar="DIR", help="write the documents to DIR")
    args = parser.parse_args(argv)
    for name, document in documents().items():
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            (args.write / name).write_text(render(document), encoding="utf-8")
        print(f"{name}: {minified_size(document)} of {SCP_MAX_CHARS} characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
