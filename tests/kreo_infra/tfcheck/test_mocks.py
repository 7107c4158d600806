"""The tier-2 test file: mock defaults, ACM validation options, remote-state feeds."""

from __future__ import annotations

from kreo_infra.tfcheck.mocks import (
    MOCK_ACCOUNT,
    certificate_overrides,
    chain_test_file,
    computed_arn_attributes,
    literal_ephemerals,
    mock_arn,
    mock_provider_blocks,
    remote_state_producers,
)

SCHEMA = {
    "resource_schemas": {
        "aws_kms_key": {
            "block": {
                "attributes": {
                    "arn": {"type": "string", "computed": True},
                    "key_id": {"type": "string", "computed": True},
                    "policy": {"type": "string", "optional": True},
                    "replica_arn": {"type": "string", "optional": True},
                }
            }
        },
        "aws_eks_cluster": {"block": {"attributes": {"arn": {"type": "string", "computed": True}}}},
    },
    "data_source_schemas": {
        "aws_availability_zone": {
            "block": {
                "attributes": {
                    "name": {"type": "string", "optional": True, "computed": True},
                    "zone_id": {"type": "string", "optional": True, "computed": True},
                    "state": {"type": "string", "computed": True},
                    "count": {"type": "number", "computed": True},
                }
            }
        },
        "aws_caller_identity": {
            "block": {
                "attributes": {
                    "account_id": {"type": "string", "computed": True},
                    "arn": {"type": "string", "computed": True},
                }
            }
        },
    },
}


def stack() -> dict:
    return {
        "provider": {"aws": [{"region": "eu-west-1"}, {"alias": "dr", "region": "us-west-2"}]},
        "resource": {
            "aws_kms_key": {"k": {}},
            "aws_eks_cluster": {"c": {}},
            "aws_acm_certificate": {
                "cert": {"domain_name": "www.example.com", "subject_alternative_names": ["a.b"]}
            },
        },
        "data": {
            "aws_availability_zone": {"z": {"zone_id": "euw1-az1"}},
            "aws_caller_identity": {"me": {}},
            "terraform_remote_state": {
                "net": {"backend": "s3", "config": {"key": "kreo-infra/prod/network.tfstate"}}
            },
        },
    }


def test_arns_are_well_formed_per_service() -> None:
    assert mock_arn("aws_kms_key", "arn", "eu-west-1") == (
        f"arn:aws:kms:eu-west-1:{MOCK_ACCOUNT}:kms_key/mock-arn"
    )
    assert mock_arn("aws_iam_role", "arn", "eu-west-1") == (
        f"arn:aws:iam::{MOCK_ACCOUNT}:iam_role/mock-arn"
    )
    assert mock_arn("aws_cloudwatch_log_group", "arn", "x").startswith("arn:aws:logs:x:")
    assert mock_arn("aws_s3_bucket", "arn", "x").startswith("arn:aws:s3:::")


def test_only_computed_string_arn_attributes_are_mocked() -> None:
    block = SCHEMA["resource_schemas"]["aws_kms_key"]["block"]
    assert computed_arn_attributes(block) == ["arn"]


def test_one_mock_provider_per_provider_configuration_in_its_region() -> None:
    blocks = mock_provider_blocks(stack(), SCHEMA)
    assert [b.get("alias") for b in blocks] == [None, "dr"]
    assert blocks[0]["mock_resource"]["aws_kms_key"]["defaults"]["arn"].startswith(
        "arn:aws:kms:eu-west-1:"
    )
    assert blocks[1]["mock_resource"]["aws_kms_key"]["defaults"]["arn"].startswith(
        "arn:aws:kms:us-west-2:"
    )


def test_eks_cluster_returns_its_ca_and_oidc_issuer() -> None:
    defaults = mock_provider_blocks(stack(), SCHEMA)[0]["mock_resource"]["aws_eks_cluster"]
    assert defaults["defaults"]["certificate_authority"][0]["data"]
    issuer = defaults["defaults"]["identity"][0]["oidc"][0]["issuer"]
    assert issuer.startswith("https://oidc.eks.eu-west-1.amazonaws.com/id/")


def test_data_sources_answer_the_same_on_every_read() -> None:
    blocks = mock_provider_blocks(stack(), SCHEMA)
    zone = blocks[0]["mock_data"]["aws_availability_zone"]["defaults"]
    assert zone["name"] == "eu-west-1a"
    assert zone["state"] == "mock-availability_zone-state"
    assert "count" not in zone  # only strings get a fixed value
    identity = blocks[0]["mock_data"]["aws_caller_identity"]["defaults"]
    assert identity["account_id"] == MOCK_ACCOUNT
    assert identity["arn"].startswith(f"arn:aws:iam::{MOCK_ACCOUNT}:")


def test_certificates_answer_one_validation_option_per_name() -> None:
    (override,) = certificate_overrides(stack(), "eu-west-1")
    assert override["target"] == "aws_acm_certificate.cert"
    options = override["values"]["domain_validation_options"]
    assert [o["domain_name"] for o in options] == ["www.example.com", "a.b"]
    assert {o["resource_record_type"] for o in options} == {"CNAME"}
    assert override["values"]["arn"].startswith("arn:aws:acm:eu-west-1:")


def test_remote_state_producers_by_state_key() -> None:
    assert remote_state_producers(stack()) == {"net": "kreo-infra/prod/network.tfstate"}


def test_test_file_feeds_remote_state_and_runs_apply_then_plan() -> None:
    document = chain_test_file(stack(), SCHEMA, {"net": {"vpc-id": "vpc-1"}})
    assert document["run"] == {"apply": {"command": "apply"}, "replan": {"command": "plan"}}
    assert document["override_data"] == [
        {"target": "data.terraform_remote_state.net", "values": {"outputs": {"vpc-id": "vpc-1"}}}
    ]
    assert [o["target"] for o in document["override_resource"]] == ["aws_acm_certificate.cert"]
    assert len(document["mock_provider"]["aws"]) == 2


def test_every_other_provider_is_mocked_too() -> None:
    document = stack()
    document["terraform"] = {"required_providers": {"aws": {}, "helm": {}, "kubernetes": {}}}
    document["provider"]["kubernetes"] = [{"host": "x"}, {"alias": "dr", "host": "y"}]
    mocked = chain_test_file(document, SCHEMA, {})["mock_provider"]
    assert mocked["helm"] == [{}]
    assert mocked["kubernetes"] == [{}, {"alias": "dr"}]


def test_ephemeral_resources_become_literals_under_mocks() -> None:
    # "The provider mocking mechanism does not yet support ephemeral resource
    # types" (Terraform 1.11): each reference becomes a string literal.
    generated = "ephemeral.aws_secretsmanager_random_password.master.random_password"
    stack = {
        "ephemeral": {"aws_secretsmanager_random_password": {"master": {"password_length": 40}}},
        "resource": {
            "aws_db_instance": {"db": {"password_wo": "${" + generated + "}"}},
            "aws_secretsmanager_secret_version": {
                "v": {"secret_string_wo": '${jsonencode({"password" = ' + generated + "})}"}
            },
        },
    }
    out, replaced = literal_ephemerals(stack)
    assert replaced == ["aws_secretsmanager_random_password.master"]
    assert "ephemeral" not in out
    assert out["resource"]["aws_db_instance"]["db"]["password_wo"] == '${"mock-ephemeral-master"}'
    version = out["resource"]["aws_secretsmanager_secret_version"]["v"]
    assert version["secret_string_wo"] == '${jsonencode({"password" = "mock-ephemeral-master"})}'
    assert "ephemeral" in stack  # the input is not modified
    assert literal_ephemerals({"resource": {}}) == ({"resource": {}}, [])
