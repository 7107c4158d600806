"""kreo-bootstrap: the state bucket, the GitHub OIDC provider and the pipeline's roles."""

from __future__ import annotations

import json
from typing import Any

from kreo_infra.config import EnvironmentConfig
from tests.conftest import Synthesis

STACK = "kreo-bootstrap"
OIDC = "token.actions.githubusercontent.com"


def one(synthesis: Synthesis, kind: str, path: str) -> dict[str, Any]:
    return synthesis.resources(STACK, kind)[path]


def test_state_is_local_until_the_bucket_exists(synthesis: Synthesis) -> None:
    backend = synthesis.stack(STACK)["terraform"]["backend"]
    assert backend == {"local": {"path": "../../../state/kreo-bootstrap.tfstate"}}


def test_state_bucket_protections(synthesis: Synthesis, configs: list[EnvironmentConfig]) -> None:
    state = configs[0].state
    bucket = one(synthesis, "aws_s3_bucket", "state/bucket/bucket")
    assert bucket["bucket"] == state.bucket
    assert bucket["force_destroy"] is False
    ref = synthesis.ref(STACK, "aws_s3_bucket", "state/bucket/bucket", "id")
    block = one(synthesis, "aws_s3_bucket_public_access_block", "state/bucket/public-access-block")
    assert block["bucket"] == ref
    assert all(
        block[k]
        for k in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    versioning = one(synthesis, "aws_s3_bucket_versioning", "state/bucket/versioning")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    sse = one(
        synthesis, "aws_s3_bucket_server_side_encryption_configuration", "state/bucket/encryption"
    )
    (rule,) = sse["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": synthesis.ref(STACK, "aws_kms_key", "state/key/key", "arn"),
    }
    policy = json.loads(one(synthesis, "aws_s3_bucket_policy", "state/bucket/policy")["policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    lifecycle = one(synthesis, "aws_s3_bucket_lifecycle_configuration", "state/bucket/lifecycle")
    (expiry,) = lifecycle["rule"][0]["noncurrent_version_expiration"]
    assert expiry["noncurrent_days"] == state.noncurrent_version_expiry_days
    logging = one(synthesis, "aws_s3_bucket_logging", "state/access-logging")
    assert logging["bucket"] == ref
    assert logging["target_bucket"] == synthesis.ref(
        STACK, "aws_s3_bucket", "state/access-logs/bucket", "id"
    )


def test_no_dynamodb_lock_table(synthesis: Synthesis) -> None:
    assert "aws_dynamodb_table" not in synthesis.stack(STACK)["resource"]


def test_every_other_stack_keeps_its_state_in_the_bootstrap_bucket(
    synthesis: Synthesis, all_stack_names: list[str]
) -> None:
    bucket = one(synthesis, "aws_s3_bucket", "state/bucket/bucket")["bucket"]
    keys = set()
    for name in all_stack_names:
        if name == STACK:
            continue
        backend = synthesis.stack(name)["terraform"]["backend"]["s3"]
        assert backend["bucket"] == bucket, name
        assert backend["encrypt"] is True
        # With encrypt and no key, Terraform asks for SSE-S3 over the bucket's
        # SSE-KMS default: the state key is named, by the alias the bootstrap makes.
        assert backend["kms_key_id"] == f"alias/{bucket}", name
        assert backend["use_lockfile"] is True
        keys.add(backend["key"])
    assert len(keys) == len(all_stack_names) - 1  # one state object per stack


def test_github_oidc_provider(synthesis: Synthesis) -> None:
    (provider,) = synthesis.resources(STACK, "aws_iam_openid_connect_provider").values()
    assert provider["url"] == f"https://{OIDC}"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]


def trust_of(synthesis: Synthesis, path: str) -> dict[str, Any]:
    role = one(synthesis, "aws_iam_role", f"{path}/role")
    (statement,) = json.loads(role["assume_role_policy"])["Statement"]
    return statement


def assert_github_trust(synthesis: Synthesis, path: str, subjects: list[str]) -> None:
    statement = trust_of(synthesis, path)
    provider = synthesis.ref(
        STACK, "aws_iam_openid_connect_provider", "github-oidc/provider", "arn"
    )
    assert statement["Principal"] == {"Federated": provider}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {f"{OIDC}:aud": "sts.amazonaws.com", f"{OIDC}:sub": subjects}
    }


def test_plan_role_trusts_only_this_repositorys_pull_requests(
    synthesis: Synthesis, configs: list[EnvironmentConfig]
) -> None:
    delivery = configs[0].delivery
    assert_github_trust(synthesis, "plan-role", [f"repo:{delivery.github_repository}:pull_request"])
    role = one(synthesis, "aws_iam_role", "plan-role/role")
    assert role["name"] == delivery.plan_role
    attached = {
        a["policy_arn"].rsplit("/", 1)[1]
        for p, a in synthesis.resources(STACK, "aws_iam_role_policy_attachment").items()
        if p.startswith("plan-role/")
    }
    assert attached == {"ReadOnlyAccess"}
    statements = json.loads(one(synthesis, "aws_iam_role_policy", "plan-role/policy")["policy"])[
        "Statement"
    ]
    by_sid = {s["Sid"]: s for s in statements}
    assert "WriteState" not in by_sid
    assert by_sid["TakeStateLocks"]["Resource"].endswith(".tflock")
    assert by_sid["NoSecretValues"]["Effect"] == "Deny"
    assert by_sid["NoDataOutsideTheState"]["Effect"] == "Deny"


def test_deploy_roles_trust_only_their_github_environment(
    synthesis: Synthesis, configs: list[EnvironmentConfig]
) -> None:
    repository = configs[0].delivery.github_repository
    for config in configs:
        path = f"deploy-role-{config.name}"
        assert_github_trust(synthesis, path, [f"repo:{repository}:environment:{config.name}"])
        assert one(synthesis, "aws_iam_role", f"{path}/role")["name"] == config.deploy_role
        statements = json.loads(one(synthesis, "aws_iam_role_policy", f"{path}/policy")["policy"])[
            "Statement"
        ]
        denied = {a for s in statements if s["Effect"] == "Deny" for a in s["Action"]}
        assert {"iam:UpdateAssumeRolePolicy", "iam:CreateAccessKey", "s3:DeleteBucket"} <= denied
        assert all(s["Effect"] == "Deny" for s in statements)


def test_image_push_role_trusts_the_app_repositories_main_branch(
    synthesis: Synthesis, configs: list[EnvironmentConfig]
) -> None:
    delivery = configs[0].delivery
    assert_github_trust(
        synthesis,
        "image-push-role",
        [f"repo:{app}:ref:refs/heads/main" for app in delivery.app_repositories],
    )
    statements = json.loads(
        one(synthesis, "aws_iam_role_policy", "image-push-role/policy")["policy"]
    )["Statement"]
    login, push = statements
    assert login["Action"] == "ecr:GetAuthorizationToken"
    assert push["Resource"].endswith(f":repository/{configs[0].project}/*")
    assert "ecr:PutImage" in push["Action"]
    assert not any(a.startswith("ecr:Delete") for a in push["Action"])


def test_no_wildcard_principal_in_any_trust_policy(synthesis: Synthesis) -> None:
    for path, role in synthesis.resources(STACK, "aws_iam_role").items():
        for statement in json.loads(role["assume_role_policy"])["Statement"]:
            principal = json.dumps(statement["Principal"])
            assert '"*"' not in principal, path
            if path.startswith("access-role-"):
                # This account's principals, narrowed to one permission set's
                # roles (whose names end in a random suffix: hence the pattern).
                assert statement["Principal"]["AWS"].endswith(":root"), path
                (pattern,) = statement["Condition"]["ArnLike"].values()
                assert "/sso.amazonaws.com/*AWSReservedSSO_" in pattern, path
                assert pattern.endswith("_*"), path
                continue
            subjects = statement["Condition"]["StringEquals"][f"{OIDC}:sub"]
            assert all("*" not in s for s in subjects), path


def test_cluster_access_for_the_pipeline(
    synthesis: Synthesis, configs: list[EnvironmentConfig]
) -> None:
    for config in configs:
        stack = f"{config.stack_prefix}-cluster"
        entries = synthesis.resources(stack, "aws_eks_access_entry")
        policies = {}
        for association in synthesis.resources(stack, "aws_eks_access_policy_association").values():
            (entry,) = [
                e
                for p, e in entries.items()
                if association["principal_arn"]
                == synthesis.ref(stack, "aws_eks_access_entry", p, "principal_arn")
            ]
            role = entry["principal_arn"].rsplit("/", 1)[1]
            policies[role] = association["policy_arn"].rsplit("/", 1)[1]
        assert policies[config.deploy_role] == "AmazonEKSClusterAdminPolicy"
        assert policies[config.delivery.plan_role] == "AmazonEKSViewPolicy"  # no Secrets
        assert policies["kreo-platform-admin"] == "AmazonEKSClusterAdminPolicy"


def test_bootstrap_resources_are_tagged_as_account_wide(synthesis: Synthesis) -> None:
    (provider,) = synthesis.stack(STACK)["provider"]["aws"]
    assert provider["default_tags"][0]["tags"]["Environment"] == "account"


def test_the_account_owns_the_service_repositories(synthesis: Synthesis) -> None:
    stack = "kreo-bootstrap"
    config = synthesis.configs[0]
    services = {s for c in synthesis.configs for s in c.services}
    repositories = synthesis.resources(stack, "aws_ecr_repository")
    assert sorted(r["name"] for r in repositories.values()) == sorted(f"kreo/{s}" for s in services)
    key = synthesis.ref(stack, "aws_kms_key", "registry/key/key", "arn")
    for repository in repositories.values():
        assert repository["image_tag_mutability"] == "IMMUTABLE"
        assert repository["image_scanning_configuration"] == {"scan_on_push": True}
        assert repository["encryption_configuration"] == [
            {"encryption_type": "KMS", "kms_key": key}
        ]
        assert repository["force_delete"] is False
    lifecycles = synthesis.resources(stack, "aws_ecr_lifecycle_policy")
    assert len(lifecycles) == len(repositories)
    for lifecycle in lifecycles.values():
        untagged, releases = json.loads(lifecycle["policy"])["rules"]
        assert untagged["selection"]["tagStatus"] == "untagged"
        assert untagged["selection"]["countNumber"] == config.registry.untagged_expiry_days
        assert releases["selection"]["countType"] == "imageCountMoreThan"
        assert releases["selection"]["countNumber"] == config.registry.keep_releases


def test_the_state_key_alias_the_backends_name(synthesis: Synthesis) -> None:
    bucket = one(synthesis, "aws_s3_bucket", "state/bucket/bucket")["bucket"]
    aliases = {a["name"] for a in synthesis.resources(STACK, "aws_kms_alias").values()}
    assert f"alias/{bucket}" in aliases


def test_sessions_outlast_a_first_deploy(
    synthesis: Synthesis, configs: list[EnvironmentConfig]
) -> None:
    # A first deploy of an environment runs well past an hour; the workflow asks for
    # the same (tests/test_workflows.py).
    for config in configs:
        role = one(synthesis, "aws_iam_role", f"deploy-role-{config.name}/role")
        assert role["max_session_duration"] == 4 * 3600
    assert one(synthesis, "aws_iam_role", "plan-role/role")["max_session_duration"] == 2 * 3600
    assert one(synthesis, "aws_iam_role", "image-push-role/role")["max_session_duration"] == 3600


def test_plan_role_may_generate_passwords_but_not_read_secrets(synthesis: Synthesis) -> None:
    # Plans evaluate the ephemeral password resources (GetRandomPassword).
    statements = json.loads(one(synthesis, "aws_iam_role_policy", "plan-role/policy")["policy"])[
        "Statement"
    ]
    by_sid = {s["Sid"]: s for s in statements}
    allow = by_sid["GeneratePasswordsForWriteOnlyArguments"]
    assert (allow["Effect"], allow["Action"]) == ("Allow", "secretsmanager:GetRandomPassword")
    assert "secretsmanager:GetSecretValue" in by_sid["NoSecretValues"]["Action"]
    # Pull-request code runs on the plan runner: no GitHub token from the connection.
    assert "codeconnections:GetConnectionToken" in by_sid["NoSecretValues"]["Action"]


def test_access_roles_for_people_from_their_permission_sets(
    synthesis: Synthesis, configs: list[EnvironmentConfig]
) -> None:
    access = configs[0].delivery.access_roles
    for role_name, permission_set in access.items():
        role = one(synthesis, "aws_iam_role", f"access-role-{role_name}/role")
        assert role["name"] == role_name
        (statement,) = json.loads(role["assume_role_policy"])["Statement"]
        assert statement["Principal"]["AWS"].endswith(":root")
        pattern = statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
        # Under the path, or under <path>/<region>/ when Identity Center's home
        # region is not us-east-1.
        assert pattern.endswith(
            f":role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{permission_set}_*"
        )
        policy = json.loads(
            one(synthesis, "aws_iam_role_policy", f"access-role-{role_name}/policy")["policy"]
        )
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        assert by_sid["FindTheClusters"]["Resource"].endswith(":cluster/kreo-*")
        search = by_sid["CallTheSearchDomains"]
        assert search["Resource"].endswith(":domain/kreo-*/*")
        writes = {"es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete", "es:ESHttpPatch"}
        if role_name in configs[0].cluster.admin_role_names:
            assert writes <= set(search["Action"])
        else:  # read-only means GET and HEAD only
            assert set(search["Action"]) == {"es:ESHttpGet", "es:ESHttpHead"}
    # Every role the clusters' access entries name is one of these.
    for config in configs:
        for role in [*config.cluster.admin_role_names, *config.cluster.readonly_role_names]:
            assert role in access


def test_no_github_connection_in_the_account(synthesis: Synthesis) -> None:
    """The runners use CodeBuild's source credential, imported out of band: a
    connection would let any build that can use it mint a GitHub App token."""
    assert "aws_codeconnections_connection" not in synthesis.stack(STACK)["resource"]
    assert "github-connection-arn" not in synthesis.stack(STACK)["output"]
