"""A GitHub Actions runner inside the VPC: a CodeBuild project that GitHub jobs run on.

AWS CodeBuild hosts ephemeral, self-hosted GitHub Actions runners: a webhook
on the repository's ``WORKFLOW_JOB_QUEUED`` events starts one build per queued
job that asks for the project by label, and the build registers itself as the
job's runner, runs it, and is gone. A job selects the project with

    runs-on: codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }}

(AWS CodeBuild User Guide, "Tutorial: Configure a CodeBuild-hosted GitHub
Actions runner", https://docs.aws.amazon.com/codebuild/latest/userguide/action-runner.html,
and "Label overrides supported with the CodeBuild-hosted GitHub Actions runner",
https://docs.aws.amazon.com/codebuild/latest/userguide/sample-github-action-runners-update-labels.html).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cdktf_cdktf_provider_aws.codebuild_project import (
    CodebuildProject,
    CodebuildProjectArtifacts,
    CodebuildProjectEnvironment,
    CodebuildProjectLogsConfig,
    CodebuildProjectLogsConfigCloudwatchLogs,
    CodebuildProjectLogsConfigS3Logs,
    CodebuildProjectSource,
    CodebuildProjectVpcConfig,
)
from cdktf_cdktf_provider_aws.codebuild_webhook import (
    CodebuildWebhook,
    CodebuildWebhookFilterGroup,
    CodebuildWebhookFilterGroupFilter,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import (
    VpcSecurityGroupIngressRule,
)
from constructs import Construct

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from kreo_infra.security.iam import policy_document, service_trust
from kreo_infra.security.log_group import EncryptedLogGroup

DEFAULT_COMPUTE_TYPE = "BUILD_GENERAL1_MEDIUM"
"""4 vCPU, 7 GB: a synthesis of the app and a Terraform run of one environment."""

COMPUTE_TYPES = (
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
)
"""On-demand Linux container sizes; Lambda compute cannot run in a VPC."""

DEFAULT_IMAGE = "aws/codebuild/standard:7.0"
"""CodeBuild's curated Ubuntu 22.04 image (AWS CLI, make, git): the setup-* actions
download their toolchains for Ubuntu, as on GitHub's own runners."""

DEFAULT_BUILD_TIMEOUT_MINUTES = 240
"""As long as the deploy role's longest session (4 h): the build is the job."""

WORKFLOW_JOB_QUEUED = "WORKFLOW_JOB_QUEUED"
HTTPS = 443

NAME = re.compile(r"^[a-z][a-z0-9-]{1,48}[a-z0-9]$")
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")

EC2_READS = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
"""What CodeBuild reads to place a build in the VPC (no resource-level permissions)."""


class GithubActionsRunner(Construct):
    """A CodeBuild project ``name`` that runs the GitHub Actions jobs of ``repository``
    that ask for it, inside the VPC, next to the private EKS API.

    * the build gets an ENI in ``subnet_ids`` (private, with NAT) with a security
      group of its own: **no ingress**, egress TCP 443 only, to anywhere — the
      job talks to GitHub (the runner protocol, actions, checkout), to the
      Terraform and package registries and to AWS APIs, all HTTPS, through the
      NAT gateways or the VPC endpoints; their addresses are not a fixed set a
      rule could name. DNS to the VPC resolver is not subject to security groups;
    * the EKS cluster security group (``cluster_security_group_id``) admits
      TCP 443 from that group, by reference, so the runner reaches the private
      Kubernetes API. EKS also puts that group on the managed nodes: 443 on a
      node or pod address is open to the runner too (nothing listens there
      today; an additional group on the control plane alone would narrow it);
    * the service role (trusted by ``codebuild.amazonaws.com`` for this project
      only) may write to its own KMS-encrypted log group, manage the build's
      network interfaces in ``subnet_ids`` (the EC2 calls AWS documents for
      VPC builds, ``ec2:CreateNetworkInterfacePermission`` conditioned on the
      subnets and on ``ec2:AuthorizedService`` = CodeBuild). Nothing else: no
      rights to deploy anything (jobs assume their role with GitHub's OIDC token,
      configure-aws-credentials, exactly as on GitHub's runners) and no GitHub
      credential. The build's code can use the service role's credentials
      (pull requests' code runs here), so the role is kept to this;
    * the webhook starts a build only for ``WORKFLOW_JOB_QUEUED`` events of the
      repository, and, with ``workflow_name`` (a regular expression), only for
      jobs of those workflows;
    * no artifacts, no cache, no privileged mode (no Docker daemon), builds time
      out after ``build_timeout_minutes``.

    GitHub access is the account's CodeBuild source credential for GitHub
    (``aws codebuild import-source-credentials``, a one-time step of
    docs/operations.md: the token never passes through Terraform, config or
    state). CodeBuild uses it to create the webhook and register each runner;
    no API returns it, so a build cannot. Not a CodeConnections connection: a
    project using one needs ``codeconnections:GetConnectionToken`` on its
    service role, and a build's code could then mint the connection's GitHub
    App token, which registering repository runners makes repository-admin.
    The webhook cannot be created before the credential exists (the preflight
    checks it).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        vpc_id: str,
        subnet_ids: Sequence[str],
        cluster_security_group_id: str,
        repository: str,
        account: AwsAccount,
        log_retention_days: int,
        workflow_name: str | None = None,
        compute_type: str = DEFAULT_COMPUTE_TYPE,
        image: str = DEFAULT_IMAGE,
        build_timeout_minutes: int = DEFAULT_BUILD_TIMEOUT_MINUTES,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        _validate(
            name=name,
            subnet_ids=subnet_ids,
            repository=repository,
            workflow_name=workflow_name,
            compute_type=compute_type,
            build_timeout_minutes=build_timeout_minutes,
        )
        partition, region, account_id = account.partition, account.region, account.account_id
        self.name = name
        self.project_arn = f"arn:{partition}:codebuild:{region}:{account_id}:project/{name}"

        self.logs = EncryptedLogGroup(
            self,
            "logs",
            name=f"/aws/codebuild/{name}",
            retention_days=log_retention_days,
            key_alias=f"alias/{name}-logs",
            description=f"the build logs of the GitHub Actions runner {name}",
            account=account,
        )

        self.security_group = SecurityGroup(
            self,
            "security-group",
            name=name,
            description="GitHub Actions runner: no ingress, HTTPS out only",
            vpc_id=vpc_id,
            tags={"Name": name},
        )
        VpcSecurityGroupEgressRule(
            self,
            "https-out",
            security_group_id=self.security_group.id,
            description="HTTPS to GitHub, the registries and AWS APIs (NAT, VPC endpoints)",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            cidr_ipv4="0.0.0.0/0",
        )
        self.cluster_ingress = VpcSecurityGroupIngressRule(
            self,
            "cluster-api-from-runner",
            security_group_id=cluster_security_group_id,
            description=f"The Kubernetes API from the GitHub Actions runner {name}",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            referenced_security_group_id=self.security_group.id,
        )

        self.role = IamRole(
            self,
            "role",
            name=name,
            description=f"CodeBuild role of the GitHub Actions runner {name}: no deploy rights",
            # Confused-deputy guard: only builds of this project.
            assume_role_policy=service_trust(
                "codebuild.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnEquals": {"aws:SourceArn": self.project_arn},
                },
            ),
        )
        subnet_arns = [f"arn:{partition}:ec2:{region}:{account_id}:subnet/{s}" for s in subnet_ids]
        network_interfaces = f"arn:{partition}:ec2:{region}:{account_id}:network-interface/*"
        group_arn = (
            f"arn:{partition}:ec2:{region}:{account_id}:security-group/{self.security_group.id}"
        )
        log_group = self.logs.arn_pattern
        self.policy = IamRolePolicy(
            self,
            "role-policy",
            name="runner",
            role=self.role.id,
            policy=policy_document(
                [
                    {
                        "Sid": "WriteOwnBuildLogs",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": [log_group, f"{log_group}:*"],
                    },
                    {
                        "Sid": "DescribeTheVpc",
                        "Effect": "Allow",
                        "Action": list(EC2_READS),
                        "Resource": "*",
                    },
                    {
                        "Sid": "CreateBuildInterfacesInTheSubnets",
                        "Effect": "Allow",
                        "Action": "ec2:CreateNetworkInterface",
                        "Resource": [network_interfaces, group_arn, *subnet_arns],
                    },
                    {
                        "Sid": "DeleteBuildInterfacesInTheSubnets",
                        "Effect": "Allow",
                        "Action": "ec2:DeleteNetworkInterface",
                        "Resource": network_interfaces,
                        "Condition": {"StringEquals": {"ec2:Subnet": subnet_arns}},
                    },
                    {
                        # As AWS documents it for CodeBuild in a VPC: CodeBuild
                        # attaches the interface, only in these subnets.
                        "Sid": "LetCodeBuildAttachThem",
                        "Effect": "Allow",
                        "Action": "ec2:CreateNetworkInterfacePermission",
                        "Resource": network_interfaces,
                        "Condition": {
                            "StringEquals": {
                                "ec2:Subnet": subnet_arns,
                                "ec2:AuthorizedService": "codebuild.amazonaws.com",
                            }
                        },
                    },
                ]
            ),
        )

        self.project = CodebuildProject(
            self,
            "project",
            name=name,
            description=description or f"GitHub Actions runner for {repository}, in the VPC",
            service_role=self.role.arn,
            build_timeout=build_timeout_minutes,
            artifacts=CodebuildProjectArtifacts(type="NO_ARTIFACTS"),
            environment=CodebuildProjectEnvironment(
                type="LINUX_CONTAINER",
                compute_type=compute_type,
                image=image,
                image_pull_credentials_type="CODEBUILD",
                privileged_mode=False,
            ),
            source=CodebuildProjectSource(
                type="GITHUB",
                # GitHub access: the account's source credential (class docstring).
                location=f"https://github.com/{repository}.git",
            ),
            vpc_config=CodebuildProjectVpcConfig(
                vpc_id=vpc_id,
                subnets=list(subnet_ids),
                security_group_ids=[self.security_group.id],
            ),
            logs_config=CodebuildProjectLogsConfig(
                cloudwatch_logs=CodebuildProjectLogsConfigCloudwatchLogs(
                    status="ENABLED", group_name=self.logs.group.name
                ),
                s3_logs=CodebuildProjectLogsConfigS3Logs(status="DISABLED"),
            ),
            # CodeBuild checks at creation that the role may describe the VPC.
            depends_on=[self.policy],
        )

        filters = [CodebuildWebhookFilterGroupFilter(type="EVENT", pattern=WORKFLOW_JOB_QUEUED)]
        if workflow_name is not None:
            filters.append(
                CodebuildWebhookFilterGroupFilter(type="WORKFLOW_NAME", pattern=workflow_name)
            )
        self.webhook = CodebuildWebhook(
            self,
            "webhook",
            project_name=self.project.name,
            build_type="BUILD",
            filter_group=[CodebuildWebhookFilterGroup(filter=filters)],
        )

    @property
    def runs_on(self) -> str:
        """The ``runs-on`` label a GitHub job uses to run here."""
        return f"codebuild-{self.name}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"


def _validate(
    *,
    name: str,
    subnet_ids: Sequence[str],
    repository: str,
    workflow_name: str | None,
    compute_type: str,
    build_timeout_minutes: int,
) -> None:
    def fail(prop: str, value: object, allowed: str) -> None:
        raise PropsError("GithubActionsRunner", prop, value, allowed)

    if not NAME.match(name):
        fail("name", name, "use 3-50 lowercase letters, digits and hyphens (it is also the role's)")
    if not subnet_ids:
        fail("subnet_ids", [], "name the private subnets the builds run in")
    if not REPOSITORY.match(repository):
        fail("repository", repository, "use <owner>/<repo>")
    if workflow_name is not None:
        try:
            re.compile(workflow_name)
        except re.error as error:
            fail("workflow_name", workflow_name, f"use a regular expression ({error})")
    if compute_type not in COMPUTE_TYPES:
        fail("compute_type", compute_type, f"use one of {COMPUTE_TYPES}")
    if not 5 <= build_timeout_minutes <= 2160:
        fail("build_timeout_minutes", build_timeout_minutes, "use 5 to 2160 (CodeBuild's range)")
