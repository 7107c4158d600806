"""``kreo-<env>-bootstrap``: what the pipeline needs before any other stack can exist.

One per environment, in the environment's own AWS account, applied by an
administrator (docs/operations.md, "Bootstrap a new account"): the Terraform
state bucket every other stack's backend names, the GitHub Actions OIDC
provider, and the roles the workflows assume. The apex owner's (production's)
also holds what the environments share: the image registry, pulled by the other
accounts' nodes, and the roles through which the other environments delegate
their zones from the apex zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cdktf_cdktf_provider_aws.iam_service_linked_role import IamServiceLinkedRole
from constructs import Construct

from kreo_infra.backup.vault import replica_key_alias
from kreo_infra.cluster.registry import RegistryReplication, ServiceRepositories
from kreo_infra.config import EnvironmentConfig
from kreo_infra.config.loader import parent_of
from kreo_infra.delivery.access import AccessRole, access_statements
from kreo_infra.delivery.github import (
    DEPLOY_SESSION_SECONDS,
    DRILL_SESSION_SECONDS,
    PLAN_SESSION_SECONDS,
    PULL_REQUEST_CONTEXT,
    PULL_REQUEST_REFS,
    GithubOidcProvider,
    GithubRole,
    branch_context,
    environment_context,
    state_access,
    workflow_subject,
)
from kreo_infra.delivery.guardrails import (
    BreakGlassRole,
    PermissionsBoundary,
    pipeline_guardrails,
)
from kreo_infra.delivery.state import StateBucket
from kreo_infra.delivery.zone_delegation import ParentZoneAccess
from kreo_infra.errors import PropsError
from kreo_infra.recovery.drill import DRILL_PREFIX
from kreo_infra.security.detection import AccountSecurity
from kreo_infra.security.iam import Statement
from kreo_infra.stacks.backup import DRILL_NETWORK_PREFIX
from kreo_infra.stacks.kreo_stack import KreoStack
from kreo_infra.stacks.outputs import BootstrapOutputs

READ_ONLY_POLICY = "ReadOnlyAccess"
DEPLOY_POLICY = "AdministratorAccess"

PLAN_DENIED_DATA_READS = [
    # secret values; a connection token is a GitHub App token (none is used
    # here, decision 56; denied should one ever be created)
    "secretsmanager:GetSecretValue",
    "secretsmanager:BatchGetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "codeconnections:GetConnectionToken",
    "codestar-connections:GetConnectionToken",
    # log events (the application's, the flow logs', the WAF's)
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
    "logs:StartQuery",
    "logs:GetQueryResults",
    "logs:GetLogRecord",
    "logs:StartLiveTail",
    "logs:Unmask",
    # database log files
    "rds:DownloadDBLogFilePortion",
    "rds:DownloadCompleteDBLogFile",
    # image layers (the code)
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    # the search index's documents
    "es:ESHttpGet",
    "es:ESHttpHead",
    "es:ESHttpPost",
    # builds' environment and logs, instances' consoles
    "codebuild:BatchGetBuilds",
    "ec2:GetConsoleOutput",
    "ec2:GetConsoleScreenshot",
    "ec2:GetPasswordData",
    # backup contents' metadata (restore parameters)
    "backup:GetRecoveryPointRestoreMetadata",
]
"""Reads of data (not configuration) that AWS's ReadOnlyAccess grants and a
``terraform plan`` never needs: denied to the plan role, whose sessions run the
code of unmerged pull requests."""

ECR_PUSH_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]


def registry_replication_role(config: EnvironmentConfig) -> str:
    """The role through which ECR creates the DR region's replica repositories."""
    return f"{config.project}-registry-replication"


GLOBAL_SERVICES = ("iam:*", "sts:*", "route53:*")
"""What a recovery's deploy role may call outside its region: IAM and Route 53 (global,
their endpoints in us-east-1) and STS (the providers' caller identity)."""


def region_fence(region: str) -> Statement:
    """Deny every call to a regional service outside ``region`` (``aws:RequestedRegion``;
    the global services it needs excepted)."""
    return {
        "Sid": "OnlyItsOwnRegion",
        "Effect": "Deny",
        "NotAction": list(GLOBAL_SERVICES),
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": region}},
    }


def drill_statements(
    config: EnvironmentConfig, *, partition: str, account_id: str
) -> list[Statement]:
    """The recovery drill's permissions (kreo_infra.recovery.drill), in the DR region
    only: find the replicated automated backups, restore them into a
    ``kreo-drill-*`` instance, tag it, delete it. No other instance can be deleted,
    and the only key it may use is the replicated backups' (by its alias: the key
    is the backup stack's), through RDS."""
    region = config.dr_region
    rds = f"arn:{partition}:rds:{region}:{account_id}"
    drill_instances = f"{rds}:db:{DRILL_PREFIX}*"
    return [
        {
            # Read only. DescribeDBInstanceAutomatedBackups is filtered by the
            # source instance, whose ARN is the primary region's, and the sweep
            # lists every instance: the region, not an ARN, is the scope.
            "Sid": "FindTheReplicatedBackupsAndTheDrillInstances",
            "Effect": "Allow",
            "Action": ["rds:DescribeDBInstanceAutomatedBackups", "rds:DescribeDBInstances"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            # The replicated automated backups (auto-backup:ab-<id>, an id AWS
            # generates) into a drill instance, placed in the drill network's
            # subnet group only (no route out: production's data restored
            # nowhere else), with the default option and parameter groups.
            "Sid": "RestoreTheReplicatedBackupsIntoDrillInstances",
            "Effect": "Allow",
            "Action": "rds:RestoreDBInstanceToPointInTime",
            "Resource": [
                f"{rds}:auto-backup:*",
                drill_instances,
                f"{rds}:subgrp:{DRILL_NETWORK_PREFIX}{config.name}",
                f"{rds}:og:*",
                f"{rds}:pg:*",
            ],
        },
        {
            "Sid": "TagTheDrillInstances",
            "Effect": "Allow",
            "Action": "rds:AddTagsToResource",
            "Resource": drill_instances,
        },
        {
            # Never another instance (production's has deletion protection too).
            "Sid": "DeleteOnlyDrillInstances",
            "Effect": "Allow",
            "Action": "rds:DeleteDBInstance",
            "Resource": drill_instances,
        },
        {
            # Should a policy ever grant more: no other instance, in any region.
            "Sid": "NeverDeleteAnotherInstance",
            "Effect": "Deny",
            "Action": "rds:DeleteDBInstance",
            "NotResource": drill_instances,
        },
        {
            # The restored instance is encrypted with the replicated backups' key;
            # RDS creates its grant and decrypts on the caller's behalf.
            "Sid": "UseTheReplicatedBackupsKeyThroughRds",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey"],
            "Resource": f"arn:{partition}:kms:{region}:{account_id}:key/*",
            "Condition": {
                "ForAnyValue:StringEquals": {
                    "kms:ResourceAliases": replica_key_alias(config.stack_prefix)
                },
                "StringEquals": {"kms:ViaService": f"rds.{region}.amazonaws.com"},
            },
        },
    ]


class BootstrapStack(KreoStack):
    """The state bucket, the GitHub OIDC provider and the pipeline's roles of one
    environment's account.

    * ``kreo-plan``: pull requests of this repository and the deploy workflow's
      plan jobs; AWS's read-only policy, the state (read only: plans take no
      lock), and explicit denials of reading data (objects outside the state,
      log events, database logs, image layers, secret values);
    * ``kreo-deploy-<env>``: jobs of this repository running in the GitHub
      environment ``<env>`` (required reviewers, main only); full rights except
      over this stack's own resources and IAM users;
    * the apex owner only (``environments``: every environment, to know the
      others): the ``<project>/*`` image repositories, which the other
      environments' node roles may pull, ``kreo-image-push`` (the application
      repositories push there, nothing else), and per other environment
      delegated from a zone of this one, its DNS delegation and reader roles;
    * where the database's automated backups replicate (``backup.copy_to_dr_region``):
      ``delivery.drill_role``, the recovery drill workflow on main only, which may
      restore them into ``kreo-drill-*`` instances in the DR region and delete
      those, nothing else (:func:`drill_statements`), within the boundary.
    """

    layer = "bootstrap"
    account_wide = True

    def __init__(
        self,
        scope: Construct,
        *,
        config: EnvironmentConfig,
        environments: Sequence[EnvironmentConfig] = (),
    ) -> None:
        if config.recovery_of is not None:
            raise PropsError(
                "BootstrapStack", "config.recovery_of", config.recovery_of,
                f"bootstrap {config.recovery_of}'s account: a recovery environment has none",
            )  # fmt: skip
        if config.state.region != config.region:
            raise PropsError(
                "BootstrapStack", "state.region", config.state.region,
                f"create the state bucket in the stacks' region ({config.region})",
            )  # fmt: skip
        peers = list(environments) or [config]
        if config.name not in [p.name for p in peers]:
            raise PropsError(
                "BootstrapStack", "environments", [p.name for p in peers],
                f"include this stack's own ({config.name})",
            )  # fmt: skip
        super().__init__(scope, config=config)
        aws = self.account
        partition, account_id = aws.partition, aws.account_id
        delivery, state = config.delivery, config.state

        self.state = StateBucket(
            self,
            "state",
            name=state.bucket,
            noncurrent_version_expiry_days=state.noncurrent_version_expiry_days,
            account=aws,
        )
        # The environments that rebuild this one in its DR region (recovery_of):
        # their state buckets, made here in peacetime through the DR provider, so
        # a recovery reads and writes no state in the lost region (and creating a
        # bucket needs us-east-1, which a region loss may take).
        recoveries = [p for p in peers if p.recovery_of == config.name]
        dr_account = replace(aws, region=config.dr_region)
        self.recovery_states = {
            recovery.name: StateBucket(
                self,
                f"recovery-state-{recovery.name}",
                name=recovery.state.bucket,
                noncurrent_version_expiry_days=recovery.state.noncurrent_version_expiry_days,
                account=dr_account,
                provider=self.dr_provider,
            )
            for recovery in recoveries
        }
        recovery_state_keys = {
            r.name: (self.recovery_states[r.name], r.state.key_prefix) for r in recoveries
        }
        self.oidc = GithubOidcProvider(self, "github-oidc")
        repository = delivery.github_repository
        parent = parent_of(config, peers)
        owns_apex = config.dns.domain == config.dns.apex
        state_arn = self.state.arn
        state_objects = f"{state_arn}/{state.key_prefix}/*"
        # The roles no pipeline role may change: its own, the image pusher's, the
        # people's and (always, in pipeline_guardrails) the break-glass role; the
        # zone delegation roles other accounts assume.
        protected_roles = [
            f"arn:{partition}:iam::{account_id}:role/{name}"
            for name in (
                delivery.plan_role,
                f"{delivery.deploy_role_prefix}-*",
                delivery.image_push_role,
                delivery.drill_role,
                f"{config.project}-dns-*",
                f"{config.project}-registry-*",
                *delivery.access_roles,
            )
        ]
        guardrail_scope = {
            "state_bucket_arn": state_arn,
            "protected_role_arns": protected_roles,
            "oidc_provider_arn": self.oidc.arn,
            "access_log_bucket_arn": self.state.access_logs.arn,
            "other_bucket_arns": [
                arn
                for bucket in self.recovery_states.values()
                for arn in (bucket.arn, bucket.access_logs.arn)
            ],
            # The backup stack sets its vaults' locks and access policies; a lock
            # that would lower the minimum retention is denied.
            "vault_lock_min_retention_days": config.backup.vault_lock_min_retention_days,
            # The account's trail, threat detection and security alarms (below).
            "security_prefix": config.stack_prefix,
        }
        # Every role the pipeline creates or changes must carry this boundary
        # (pipeline_guardrails), so a role it makes cannot do what it may not.
        self.boundary = PermissionsBoundary(self, "boundary", account=aws, **guardrail_scope)
        guard = pipeline_guardrails(aws, boundary_arn=self.boundary.arn, **guardrail_scope)
        # Outside the pipeline, for what the guardrails deny (docs/operations.md,
        # "Break glass"); every use alarms.
        self.break_glass = BreakGlassRole(
            self, "break-glass", account=aws, permission_set=delivery.break_glass_permission_set
        )

        self.plan_role = GithubRole(
            self,
            "plan-role",
            name=delivery.plan_role,
            description=f"terraform plan for pull requests and deploys of {repository}",
            provider_arn=self.oidc.arn,
            # Pull requests' plans (infra-ci.yml) and the deploy workflow's plan
            # jobs on main (no GitHub environment).
            subjects=[
                workflow_subject(
                    repository,
                    context=PULL_REQUEST_CONTEXT,
                    workflow_path=delivery.workflows.ci,
                    ref=PULL_REQUEST_REFS,
                ),
                workflow_subject(
                    repository, context=branch_context(), workflow_path=delivery.workflows.deploy
                ),
            ],
            account=aws,
            managed_policies=[READ_ONLY_POLICY],
            max_session_seconds=PLAN_SESSION_SECONDS,
            statements=[
                # Read only: a plan takes no lock (-lock=false), so a pull
                # request's code cannot hold the state of a deploy hostage.
                *(
                    statement
                    for statement in state_access(
                        bucket_arn=state_arn,
                        key_arn=self.state.key.arn,
                        key_prefix=state.key_prefix,
                        write=False,
                    )
                    if statement["Sid"] != "TakeStateLocks"
                ),
                # The recoveries' state too: their plans, in a disaster, are
                # reviewed before approval like every other.
                *(
                    {**statement, "Sid": f"{statement['Sid']}Of{recovery.title()}"}
                    for recovery, (bucket, key_prefix) in recovery_state_keys.items()
                    for statement in state_access(
                        bucket_arn=bucket.arn,
                        key_arn=bucket.key.arn,
                        key_prefix=key_prefix,
                        write=False,
                    )
                    if statement["Sid"] != "TakeStateLocks"
                ),
                {
                    "Sid": "NoDataOutsideTheState",
                    "Effect": "Deny",
                    "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                    "NotResource": [
                        state_objects,
                        *(f"{b.arn}/{prefix}/*" for b, prefix in recovery_state_keys.values()),
                    ]
                    if self.recovery_states
                    else state_objects,
                },
                {
                    # The data and platform stacks generate passwords with an
                    # ephemeral resource, evaluated by every plan; the action
                    # returns a random string and has no resource to scope to.
                    "Sid": "GeneratePasswordsForWriteOnlyArguments",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetRandomPassword",
                    "Resource": "*",
                },
                *(
                    [
                        {
                            "Sid": "ReadTheParentZoneForPlans",
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Resource": f"arn:{partition}:iam::{parent.account_id}:role/"
                            f"{config.dns_reader_role}",
                        }
                    ]
                    if parent is not None and parent.account_id != config.account_id
                    else []
                ),
                *guard,
                {
                    # Configuration, not data: ReadOnlyAccess grants these reads
                    # of what the platform holds; a plan needs none of them.
                    "Sid": "NoDataReads",
                    "Effect": "Deny",
                    "Action": PLAN_DENIED_DATA_READS,
                    "Resource": "*",
                },
            ],
        )

        # This account's environment only: another environment's pipeline has
        # no role here (one account per environment).
        def deploy_role(
            env: EnvironmentConfig, description: str, fence: Sequence[Statement] = ()
        ) -> GithubRole:
            """``kreo-deploy-<env>``: the deploy workflow's jobs in GitHub environment
            ``<env>`` only, bounded by the guardrails (and ``fence``)."""
            return GithubRole(
                self,
                f"deploy-role-{env.name}",
                name=env.deploy_role,
                description=description,
                provider_arn=self.oidc.arn,
                subjects=[
                    workflow_subject(
                        repository,
                        context=environment_context(env.name),
                        workflow_path=delivery.workflows.deploy,
                    )
                ],
                account=aws,
                managed_policies=[DEPLOY_POLICY],
                statements=[*guard, *fence],
                max_session_seconds=DEPLOY_SESSION_SECONDS,
            )

        self.deploy_role = deploy_role(config, f"cdktf deploy of {config.name} from {repository}")
        # The recoveries' deploy roles, made in peacetime too (IAM's control plane
        # is in us-east-1): each trusted for its own GitHub environment only, and
        # fenced to its region, so a second admin door into this account opens on
        # nothing of this environment's own region.
        self.recovery_deploy_roles = {
            recovery.name: deploy_role(
                recovery,
                f"cdktf deploy of {recovery.name} ({config.name} rebuilt in "
                f"{recovery.region}) from {repository}",
                fence=[region_fence(recovery.region)],
            )
            for recovery in recoveries
        }
        # Where the database's automated backups replicate to the DR region: the
        # quarterly recovery drill's role (.github/workflows/recovery-drill.yml).
        self.drill_role: GithubRole | None = None
        if config.backup.copy_to_dr_region:
            self.drill_role = GithubRole(
                self,
                "drill-role",
                name=delivery.drill_role,
                description=(
                    f"Recovery drill of {config.name}: restores its replicated backups "
                    f"into throwaway {DRILL_PREFIX}* instances in {config.dr_region}"
                ),
                provider_arn=self.oidc.arn,
                # Only the drill workflow, on main (no GitHub environment: it runs
                # on a schedule, and reads no data outside the throwaway instance).
                subjects=[
                    workflow_subject(
                        repository, context=branch_context(), workflow_path=delivery.workflows.drill
                    )
                ],
                account=aws,
                statements=drill_statements(config, partition=partition, account_id=account_id),
                max_session_seconds=DRILL_SESSION_SECONDS,
                permissions_boundary=self.boundary.arn,
            )
        # People's roles, which the clusters' access entries and the search
        # domains name; what each may do there is decided by those (EKS access
        # policies, OpenSearch's fine-grained access control), not here.
        self.access_roles = {
            role: AccessRole(
                self,
                f"access-role-{role}",
                name=role,
                permission_set=permission_set,
                account=aws,
                statements=access_statements(
                    aws, config.project, write=role in config.cluster.admin_role_names
                ),
            )
            for role, permission_set in delivery.access_roles.items()
        }
        # The environments whose zones are delegated from this one's: the roles
        # their pipelines assume to write (deploys) or read (plans) the NS record.
        self.zone_access = {
            child.name: ParentZoneAccess(
                self,
                f"zone-access-{child.name}",
                account=aws,
                child_domain=child.dns.domain,
                child_account_id=child.account_id,
                delegation_role=child.dns_delegation_role,
                reader_role=child.dns_reader_role,
                child_deploy_role=child.deploy_role,
                child_plan_role=child.delivery.plan_role,
            )
            for child in peers
            if child.account_id != config.account_id
            and (of := parent_of(child, peers)) is not None
            and of.name == config.name
        }
        # EC2 Auto Scaling's service-linked role launches the EKS nodes; each
        # cluster's EBS key policy names it, and KMS refuses a key policy naming a
        # role that does not exist yet (cluster.volume_key). An account where it
        # exists already imports it (docs/operations.md, "Bootstrap a new account").
        IamServiceLinkedRole(
            self,
            "autoscaling-service-linked-role",
            aws_service_name="autoscaling.amazonaws.com",
            description="EC2 Auto Scaling: launches EKS nodes; named by each cluster's EBS key",
        )
        # The account's audit trail, threat detection and the alarms on the calls
        # the guardrails deny (and on break-glass and root use), in both regions.
        self.security = AccountSecurity(
            self,
            "security",
            prefix=config.stack_prefix,
            account=aws,
            state_bucket=state.bucket,
            alarm_emails=config.observability.alarm_emails,
            dr_region=config.dr_region,
            guarded_principals=[
                f"arn:{partition}:iam::{account_id}:role/{delivery.plan_role}",
                f"arn:{partition}:iam::{account_id}:role/{delivery.deploy_role_prefix}-*",
            ],
        )
        if owns_apex:
            self._shared(peers)
        self.publish(
            BootstrapOutputs(
                state_bucket=self.state.name,
                break_glass_role_arn=self.break_glass.arn,
                permissions_boundary_arn=self.boundary.arn,
                security_topic_arn=self.security.alarms.arn,
                audit_trail_arn=self.security.trail.arn,
                github_oidc_provider_arn=self.oidc.arn,
                plan_role_arn=self.plan_role.arn,
                deploy_role_arn=self.deploy_role.arn,
                access_role_arns={n: r.arn for n, r in self.access_roles.items()},
                image_push_role_arn=self.image_push_role.arn if owns_apex else None,
                repository_urls=(
                    {s: r.repository_url for s, r in self.registry.repositories.items()}
                    if owns_apex
                    else None
                ),
                recovery_state_buckets=(
                    {n: b.name for n, b in self.recovery_states.items()} or None
                ),
                recovery_deploy_role_arns=(
                    {n: r.arn for n, r in self.recovery_deploy_roles.items()} or None
                ),
            )
        )

    def _shared(self, peers: Sequence[EnvironmentConfig]) -> None:
        """What the apex owner's account holds for every environment: the images, and
        the roles through which the others delegate their zones from its zones."""
        config, aws = self.config, self.account
        delivery, partition = config.delivery, aws.partition
        others = [p for p in peers if p.account_id != config.account_id]
        # The services' image repositories, one registry for every environment
        # (build once, promote the same image): they exist before the first
        # environment deploys, and the other accounts' nodes pull from them.
        self.registry = ServiceRepositories(
            self,
            "registry",
            prefix=config.project,
            services=sorted({service for peer in peers for service in peer.services}),
            untagged_expiry_days=config.registry.untagged_expiry_days,
            keep_releases=config.registry.keep_releases,
            account=aws,
            pull_role_arns=[
                f"arn:{partition}:iam::{peer.account_id}:role/{role}"
                for peer in others
                for role in peer.node_role_names()
            ],
        )
        # The images in the DR region too, so a recovery there pulls them with the
        # primary region down (docs/decisions.md 78).
        self.registry_replication = RegistryReplication(
            self,
            "registry-replication",
            repositories=self.registry,
            region=config.dr_region,
            role_name=registry_replication_role(config),
            account=aws,
            permissions_boundary=self.boundary.arn,
        )
        self.image_push_role = GithubRole(
            self,
            "image-push-role",
            name=delivery.image_push_role,
            description="Pushes the marketplace images from the application repositories",
            provider_arn=self.oidc.arn,
            # Only the application repositories' release workflow, on main.
            subjects=[
                workflow_subject(
                    app, context=branch_context(), workflow_path=delivery.workflows.release
                )
                for app in delivery.app_repositories
            ],
            account=aws,
            statements=[
                {
                    # GetAuthorizationToken has no resource to scope it to.
                    "Sid": "LogInToTheRegistry",
                    "Effect": "Allow",
                    "Action": "ecr:GetAuthorizationToken",
                    "Resource": "*",
                },
                {
                    "Sid": "PushTheMarketplaceImages",
                    "Effect": "Allow",
                    "Action": ECR_PUSH_ACTIONS,
                    "Resource": (
                        f"arn:{partition}:ecr:{aws.region}:{aws.account_id}:repository/"
                        f"{config.project}/*"
                    ),
                },
            ],
        )
