"""The CodeBuild-hosted GitHub Actions runner: defaults, validation, network, role."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.aws import AwsAccount
from kreo_infra.errors import PropsError
from tests.conftest import synth_stack

ACCOUNT = AwsAccount(account_id="123456789012", partition="aws", region="us-east-1")
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
SUBNET_ARNS = [f"arn:aws:ec2:us-east-1:123456789012:subnet/{s}" for s in SUBNETS]
ENIS = "arn:aws:ec2:us-east-1:123456789012:network-interface/*"
PROJECT_ARNS = "arn:aws:codebuild:us-east-1:123456789012:project/"
NAME = "kreo-example-deploy-runner"
"""Any environment's runner (the stacks name theirs ``kreo-<env>-deploy-runner``)."""


def runner(stack: Any, **overrides: Any) -> Any:
    from kreo_infra.delivery.runners import GithubActionsRunner

    props: dict[str, Any] = {
        "name": NAME,
        "vpc_id": "vpc-1",
        "subnet_ids": SUBNETS,
        "cluster_security_group_id": "sg-cluster",
        "repository": "kreo/kreo-infra",
        "account": ACCOUNT,
        "log_retention_days": 365,
        **overrides,
    }
    return GithubActionsRunner(stack, "runner", **props)


def only(synthesized: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (body,) = synthesized["resource"][resource_type].values()
    return body


def ref(synthesized: dict[str, Any], resource_type: str, attribute: str) -> str:
    (name,) = synthesized["resource"][resource_type]
    return f"${{{resource_type}.{name}.{attribute}}}"


@pytest.fixture
def synthesized(stack: Any) -> dict[str, Any]:
    runner(stack, workflow_name="^infra-deploy$")
    return synth_stack(stack)


def test_defaults(stack: Any) -> None:
    built = runner(stack)
    synthesized = synth_stack(stack)
    project = only(synthesized, "aws_codebuild_project")
    assert project["name"] == NAME
    assert project["environment"] == {
        "type": "LINUX_CONTAINER",
        "compute_type": "BUILD_GENERAL1_MEDIUM",
        "image": "aws/codebuild/standard:7.0",
        "image_pull_credentials_type": "CODEBUILD",
        "privileged_mode": False,
    }
    assert project["build_timeout"] == 240
    assert project["artifacts"] == {"type": "NO_ARTIFACTS"}
    assert "cache" not in project
    assert project["source"] == {
        "type": "GITHUB",
        "location": "https://github.com/kreo/kreo-infra.git",
    }
    # GitHub access is the account's source credential, held by CodeBuild; no
    # CodeConnections connection, whose token a build could mint (decision 56).
    assert "auth" not in project["source"]
    assert project["service_role"] == ref(synthesized, "aws_iam_role", "arn")
    assert built.runs_on == (
        f"codebuild-{NAME}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"
    )
    # Without a workflow name, every queued job of the repository may ask for it.
    (group,) = only(synthesized, "aws_codebuild_webhook")["filter_group"]
    assert group["filter"] == [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]


def test_runs_in_the_private_subnets_with_its_own_group(synthesized: dict[str, Any]) -> None:
    project = only(synthesized, "aws_codebuild_project")
    assert project["vpc_config"] == {
        "vpc_id": "vpc-1",
        "subnets": SUBNETS,
        "security_group_ids": [ref(synthesized, "aws_security_group", "id")],
    }


def test_security_group_has_no_ingress_and_only_https_out(synthesized: dict[str, Any]) -> None:
    group = only(synthesized, "aws_security_group")
    assert "ingress" not in group
    assert "egress" not in group  # Terraform removes AWS's default allow-all egress
    group_id = ref(synthesized, "aws_security_group", "id")
    ingress = synthesized["resource"]["aws_vpc_security_group_ingress_rule"].values()
    assert all(rule["security_group_id"] != group_id for rule in ingress)
    egress = only(synthesized, "aws_vpc_security_group_egress_rule")
    assert egress["security_group_id"] == group_id
    assert (egress["ip_protocol"], egress["from_port"], egress["to_port"]) == ("tcp", 443, 443)
    assert egress["cidr_ipv4"] == "0.0.0.0/0"
    assert egress["description"]


def test_cluster_security_group_admits_https_from_the_runner_by_reference(
    synthesized: dict[str, Any],
) -> None:
    rule = only(synthesized, "aws_vpc_security_group_ingress_rule")
    assert rule["security_group_id"] == "sg-cluster"
    assert rule["referenced_security_group_id"] == ref(synthesized, "aws_security_group", "id")
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
    assert "cidr_ipv4" not in rule


def test_webhook_starts_builds_for_queued_jobs_of_the_workflow(
    synthesized: dict[str, Any],
) -> None:
    webhook = only(synthesized, "aws_codebuild_webhook")
    assert webhook["project_name"] == ref(synthesized, "aws_codebuild_project", "name")
    assert webhook["build_type"] == "BUILD"
    (group,) = webhook["filter_group"]
    assert group["filter"] == [
        {"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"},
        {"type": "WORKFLOW_NAME", "pattern": "^infra-deploy$"},
    ]


def test_logs_into_its_own_encrypted_group(synthesized: dict[str, Any]) -> None:
    group = only(synthesized, "aws_cloudwatch_log_group")
    assert group["name"] == f"/aws/codebuild/{NAME}"
    assert group["retention_in_days"] == 365
    assert group["kms_key_id"] == ref(synthesized, "aws_kms_key", "arn")
    logs = only(synthesized, "aws_codebuild_project")["logs_config"]
    assert logs["cloudwatch_logs"] == {
        "status": "ENABLED",
        "group_name": ref(synthesized, "aws_cloudwatch_log_group", "name"),
    }
    assert logs["s3_logs"] == {"status": "DISABLED"}


def test_role_trusts_codebuild_for_this_project_only(synthesized: dict[str, Any]) -> None:
    role = only(synthesized, "aws_iam_role")
    (statement,) = json.loads(role["assume_role_policy"])["Statement"]
    assert statement["Principal"] == {"Service": "codebuild.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnEquals": {"aws:SourceArn": f"{PROJECT_ARNS}{NAME}"},
    }
    assert "aws_iam_role_policy_attachment" not in synthesized["resource"]
    assert "managed_policy_arns" not in role


def test_role_policy_is_logs_and_network_interfaces(
    synthesized: dict[str, Any],
) -> None:
    policy = json.loads(only(synthesized, "aws_iam_role_policy")["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert all(s["Effect"] == "Allow" for s in statements.values())
    log_group = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/{NAME}"
    assert statements["WriteOwnBuildLogs"]["Action"] == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    assert statements["WriteOwnBuildLogs"]["Resource"] == [log_group, f"{log_group}:*"]
    describe = statements["DescribeTheVpc"]
    assert describe["Resource"] == "*"
    assert all(a.startswith("ec2:Describe") for a in describe["Action"])
    create = statements["CreateBuildInterfacesInTheSubnets"]
    assert create["Action"] == "ec2:CreateNetworkInterface"
    group_id = ref(synthesized, "aws_security_group", "id")
    assert create["Resource"] == [
        ENIS,
        f"arn:aws:ec2:us-east-1:123456789012:security-group/{group_id}",
        *SUBNET_ARNS,
    ]
    delete = statements["DeleteBuildInterfacesInTheSubnets"]
    assert (delete["Action"], delete["Resource"]) == ("ec2:DeleteNetworkInterface", ENIS)
    assert delete["Condition"] == {"StringEquals": {"ec2:Subnet": SUBNET_ARNS}}
    permission = statements["LetCodeBuildAttachThem"]
    assert permission["Action"] == "ec2:CreateNetworkInterfacePermission"
    assert permission["Resource"] == ENIS
    assert permission["Condition"] == {
        "StringEquals": {
            "ec2:Subnet": SUBNET_ARNS,
            "ec2:AuthorizedService": "codebuild.amazonaws.com",
        }
    }
    assert set(statements) == {
        "WriteOwnBuildLogs",
        "DescribeTheVpc",
        "CreateBuildInterfacesInTheSubnets",
        "DeleteBuildInterfacesInTheSubnets",
        "LetCodeBuildAttachThem",
    }


def test_role_can_deploy_nothing(synthesized: dict[str, Any]) -> None:
    """No AWS rights beyond logs and the build's network interfaces, and no GitHub
    credential (pull requests' code can use this role): jobs assume their own role
    through GitHub OIDC."""
    policy = json.loads(only(synthesized, "aws_iam_role_policy")["policy"])
    actions = [
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    services = {a.split(":", 1)[0] for a in actions}
    assert services == {"logs", "ec2"}
    assert not any(a.endswith("*") or a.startswith(("iam:", "sts:")) for a in actions)


def test_project_waits_for_its_role_policy(synthesized: dict[str, Any]) -> None:
    project = only(synthesized, "aws_codebuild_project")
    (name,) = synthesized["resource"]["aws_iam_role_policy"]
    assert project["depends_on"] == [f"aws_iam_role_policy.{name}"]


@pytest.mark.parametrize(
    ("overrides", "prop"),
    [
        ({"name": "Kreo_Runner"}, "name"),
        ({"name": "x" * 60}, "name"),
        ({"subnet_ids": []}, "subnet_ids"),
        ({"repository": "kreo-infra"}, "repository"),
        ({"workflow_name": "(unclosed"}, "workflow_name"),
        ({"compute_type": "BUILD_LAMBDA_1GB"}, "compute_type"),
        ({"build_timeout_minutes": 3000}, "build_timeout_minutes"),
        ({"log_retention_days": 10}, "retention_days"),
    ],
)
def test_refuses(stack: Any, overrides: dict[str, Any], prop: str) -> None:
    with pytest.raises(PropsError, match=prop):
        runner(stack, **overrides)
