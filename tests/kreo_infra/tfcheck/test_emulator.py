"""Tier 3 (kreo_infra.tfcheck.emulator): the gap walk and the emulator configuration on
small hand-written stacks; and, marked ``emulator`` (deselected by default), the whole
emulation of the default environment against moto."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest

from kreo_infra.tfcheck.emulator import (
    EMULATOR_GAPS,
    FAKE_ACCESS_KEY,
    PROTECTION,
    SERVICES,
    WAIT_TIMEOUTS,
    backend_file,
    backend_settings,
    buckets_of,
    configure_for_emulator,
    ignore_gap_arguments,
    references,
    remove_gaps,
    shorten_waits,
)

ENDPOINT = "http://127.0.0.1:4567"


def small_stack() -> dict:
    """A cluster, a gap resource (add-on) and what depends on it, directly or not."""
    return {
        "terraform": {"backend": {"s3": {"bucket": "state", "key": "env/cluster.tfstate"}}},
        "provider": {"aws": [{"region": "us-east-1"}, {"alias": "dr", "region": "us-west-2"}]},
        "data": {
            "aws_partition": {"partition": {}},
            "terraform_remote_state": {
                "net": {
                    "backend": "s3",
                    "config": {"bucket": "state", "key": "env/network.tfstate"},
                }
            },
        },
        "resource": {
            "aws_eks_cluster": {
                "control": {
                    "name": "c",
                    "vpc_config": {
                        "subnet_ids": "${data.terraform_remote_state.net.outputs.subnets}"
                    },
                }
            },
            "aws_eks_addon": {
                "cni": {"cluster_name": "${aws_eks_cluster.control.name}", "addon_name": "vpc-cni"}
            },
            "aws_eks_node_group": {
                "nodes": {
                    "cluster_name": "${aws_eks_cluster.control.name}",
                    "depends_on": ["aws_eks_addon.cni"],
                }
            },
            "aws_iam_role": {
                "node": {"name": "node"},
                "unrelated": {"name": "${data.aws_partition.partition.partition}-x"},
            },
            "aws_cloudwatch_metric_alarm": {
                "nodes": {"dimensions": {"ng": "${aws_eks_node_group.nodes.node_group_name}"}},
                "flow": {
                    "dimensions": {"id": "${data.terraform_remote_state.net.outputs.flow-log}"}
                },
            },
        },
        "output": {
            "cluster": {"value": "${aws_eks_cluster.control.name}"},
            "node-group": {"value": "${aws_eks_node_group.nodes.arn}"},
        },
    }


def test_references_find_expressions_and_depends_on():
    body = {
        "a": "${aws_s3_bucket.b_1.arn}/*",
        "b": ['${join(",", data.aws_iam_policy_document.doc-2.json)}'],
        "c": "${data.terraform_remote_state.net.outputs.vpc-id}",
        "depends_on": ["aws_kms_key.k"],
        "//": {"metadata": {"path": "aws_ignored.x"}},
    }
    found = references(body)
    assert {
        "aws_s3_bucket.b_1",
        "data.aws_iam_policy_document.doc-2",
        "data.terraform_remote_state.net.outputs.vpc-id",
        "aws_kms_key.k",
    } <= found
    assert "aws_ignored.x" not in found


def test_gap_removes_the_resource_and_its_dependants_transitively():
    stack = small_stack()
    removal = remove_gaps(stack, {"aws_eks_addon": "no add-on API"})
    assert removal.removed == {
        "aws_eks_addon.cni": "aws_eks_addon",
        "aws_eks_node_group.nodes": "aws_eks_addon",  # depends_on
        "aws_cloudwatch_metric_alarm.nodes": "aws_eks_addon",  # through the node group
        "output.node-group": "aws_eks_addon",
    }
    assert removal.outputs == {"node-group": "aws_eks_addon"}
    assert "aws_eks_addon" not in stack["resource"]
    assert "aws_eks_node_group" not in stack["resource"]
    assert set(stack["resource"]["aws_cloudwatch_metric_alarm"]) == {"flow"}
    assert set(stack["resource"]["aws_iam_role"]) == {"node", "unrelated"}
    assert set(stack["output"]) == {"cluster"}


def test_removed_outputs_of_a_producer_remove_their_reads():
    stack = small_stack()
    removed = {"env/network.tfstate": {"flow-log": "aws_flow_log"}}
    removal = remove_gaps(stack, {}, removed_outputs=removed)
    assert removal.removed == {
        "aws_cloudwatch_metric_alarm.flow": "aws_flow_log via env/network.tfstate"
    }
    assert "aws_eks_cluster" in stack["resource"]


def test_data_source_gap_and_no_gap():
    stack = small_stack()
    unchanged = copy.deepcopy(stack)
    assert remove_gaps(stack, {"aws_cloudfront_response_headers_policy": "x"}).removed == {}
    assert stack == unchanged
    removal = remove_gaps(stack, {"data.aws_partition": "x"})
    assert set(removal.removed) == {"data.aws_partition.partition", "aws_iam_role.unrelated"}


def test_state_bucket_gap_is_limited_to_the_state_bucket():
    stack = {
        "resource": {
            "aws_s3_bucket": {
                "state": {"bucket": "kreo-state"},
                "logs": {"bucket": "kreo-logs"},
            },
            "aws_s3_bucket_policy": {
                "state": {"bucket": "${aws_s3_bucket.state.id}", "policy": "{}"},
                "logs": {"bucket": "${aws_s3_bucket.logs.id}", "policy": "{}"},
                "literal": {"bucket": "kreo-state", "policy": "{}"},
            },
        }
    }
    gaps = {"aws_s3_bucket_policy:state-bucket": "deny"}
    removal = remove_gaps(stack, gaps, state_bucket="kreo-state")
    assert set(removal.removed) == {"aws_s3_bucket_policy.state", "aws_s3_bucket_policy.literal"}
    assert set(stack["resource"]["aws_s3_bucket_policy"]) == {"logs"}
    assert set(stack["resource"]["aws_s3_bucket"]) == {"state", "logs"}


def test_read_replica_gap_keeps_the_primary():
    stack = {
        "resource": {
            "aws_db_instance": {
                "primary": {"identifier": "db"},
                "replica": {"replicate_source_db": "${aws_db_instance.primary.identifier}"},
            },
            "aws_cloudwatch_metric_alarm": {
                "lag": {"dimensions": {"id": "${aws_db_instance.replica.identifier}"}}
            },
        }
    }
    removal = remove_gaps(stack, {"aws_db_instance:read-replica": "same DbiResourceId"})
    assert set(removal.removed) == {
        "aws_db_instance.replica",
        "aws_cloudwatch_metric_alarm.lag",
    }
    assert set(stack["resource"]["aws_db_instance"]) == {"primary"}


def test_cluster_group_gap_removes_only_rules_on_the_eks_made_group():
    cluster_group = "${aws_eks_cluster.c.vpc_config[0].cluster_security_group_id}"
    stack = {
        "resource": {
            "aws_vpc_security_group_ingress_rule": {
                "api-from-runner": {"security_group_id": cluster_group, "from_port": 443},
                "db-from-clients": {"security_group_id": "${aws_security_group.db.id}"},
            }
        }
    }
    removal = remove_gaps(
        stack, {"aws_vpc_security_group_ingress_rule:on-cluster-security-group": "no group"}
    )
    assert set(removal.removed) == {"aws_vpc_security_group_ingress_rule.api-from-runner"}
    assert set(stack["resource"]["aws_vpc_security_group_ingress_rule"]) == {"db-from-clients"}


def test_argument_gap_ignores_changes_and_removes_nothing():
    stack = small_stack()
    stack["resource"]["aws_eks_cluster"]["control"]["lifecycle"] = {"ignore_changes": ["tags"]}
    gaps = {"aws_eks_cluster.access_config": "not returned"}
    assert remove_gaps(stack, gaps).removed == {}
    ignored = ignore_gap_arguments(stack, gaps)
    assert ignored == {"aws_eks_cluster.control.access_config": "aws_eks_cluster.access_config"}
    lifecycle = stack["resource"]["aws_eks_cluster"]["control"]["lifecycle"]
    assert lifecycle == {"ignore_changes": ["tags", "access_config"]}


def test_waits_are_shortened_by_the_copys_timeouts_only():
    stack = {
        "resource": {
            "aws_opensearch_domain": {"search": {"domain_name": "s", "timeouts": {"delete": "1h"}}},
            "aws_kms_key": {"key": {}},
        }
    }
    done = shorten_waits(stack, {"aws_opensearch_domain": {"create": "15s"}})
    assert done == {"aws_opensearch_domain.search.create": "15s"}
    timeouts = stack["resource"]["aws_opensearch_domain"]["search"]["timeouts"]
    assert timeouts == {"delete": "1h", "create": "15s"}
    assert stack["resource"]["aws_kms_key"]["key"] == {}
    assert set(WAIT_TIMEOUTS) == {"aws_opensearch_domain"}


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        (
            "aws_db_instance.primary: deleting RDS DB Instance: InvalidParameterCombination: "
            "Cannot delete protected DB Instance, please disable deletion protection",
            True,
        ),
        ("aws_s3_bucket.b: Instance cannot be destroyed: lifecycle.prevent_destroy", True),
        ("aws_s3_bucket.b: deleting: AccessDenied: Access Denied", True),
        ("aws_kms_key.k: deleting: InternalFailure: boom", False),
    ],
)
def test_destroy_refusals_by_protection_are_told_apart(error, kept):
    assert bool(PROTECTION.search(error)) is kept


def test_buckets_with_literal_names_and_their_regions():
    stack = {
        "provider": {"aws": [{"region": "us-east-1"}, {"alias": "dr", "region": "us-west-2"}]},
        "resource": {
            "aws_s3_bucket": {
                "a": {"bucket": "kreo-a"},
                "b": {"bucket": "kreo-b", "provider": "aws.dr"},
                "c": {"bucket": "${var.name}"},
            }
        },
    }
    assert buckets_of(stack) == [("kreo-a", "us-east-1"), ("kreo-b", "us-west-2")]


def test_gaps_are_named_with_a_reason():
    assert EMULATOR_GAPS
    for key, reason in EMULATOR_GAPS.items():
        assert re.fullmatch(
            r"(data\.)?aws_[a-z0-9_]+"
            r"(:state-bucket|:read-replica|:on-cluster-security-group|\.[a-z0-9_]+)?",
            key,
        ), key
        assert "moto" in reason, key
        assert len(reason) > 40, key


def test_providers_and_remote_state_point_at_the_emulator():
    stack = small_stack()
    configure_for_emulator(stack, ENDPOINT)
    providers = stack["provider"]["aws"]
    assert len(providers) == 2
    for provider in providers:
        endpoints = provider["endpoints"][0]
        assert set(endpoints) == set(SERVICES)
        assert set(endpoints.values()) == {ENDPOINT}
        assert provider["access_key"] == FAKE_ACCESS_KEY
        assert provider["skip_requesting_account_id"] is False  # asks the emulator's STS
        for flag in (
            "skip_credentials_validation",
            "skip_metadata_api_check",
            "s3_use_path_style",
        ):
            assert provider[flag] is True
    assert providers[1]["alias"] == "dr"
    assert providers[1]["region"] == "us-west-2"
    config = stack["data"]["terraform_remote_state"]["net"]["config"]
    assert config["endpoints"]["s3"] == ENDPOINT
    assert config["use_path_style"] is True
    assert config["key"] == "env/network.tfstate"
    # The backend itself is untouched in the document: init gets it as -backend-config.
    assert stack["terraform"]["backend"] == small_stack()["terraform"]["backend"]


def test_backend_config_file():
    text = backend_file(backend_settings(ENDPOINT))
    assert f'endpoints = {{ s3 = "{ENDPOINT}", sts = "{ENDPOINT}", iam = "{ENDPOINT}" }}' in text
    assert "use_path_style = true\n" in text
    assert "skip_credentials_validation = true\n" in text


def test_every_service_of_the_stacks_is_pointed_at_the_emulator(synthesis):
    """Each AWS resource or data type of every stack (whichever environment the emulator
    applies) maps to an endpoint."""
    from kreo_infra.tfcheck.emulator import service_of

    for name in synthesis.stack_names:
        stack = synthesis.stack(name)
        for section in ("resource", "data"):
            for rtype in stack.get(section, {}):
                if rtype.startswith("aws_"):
                    assert service_of(rtype) in (*SERVICES, None), f"{name}: {rtype}"


@pytest.mark.emulator
def test_the_default_environment_applies_against_the_emulator(synthesis, tmp_path):
    """Tier 3 end to end: bootstrap and the AWS stacks of the emulator's default environment
    applied, re-planned without change and destroyed against moto (make emulate does the
    same on cdktf.out)."""
    from kreo_infra.tfcheck.emulator import run_emulation
    from kreo_infra.tfcheck.toolchain import ToolchainError, discover

    env = dict(os.environ)
    cache = Path(__file__).resolve().parents[3] / ".cache" / "terraform"
    # Asked for explicitly (-m emulator): a missing toolchain is a failure, not a skip.
    try:
        toolchain = discover(env, cache)
    except ToolchainError as error:
        pytest.fail(str(error))
    if not toolchain.versions("aws"):
        pytest.fail("no AWS provider plugin (KREO_TF_PLUGIN_MIRROR)")
    lines: list[str] = []

    def say(message: str) -> None:
        lines.append(message)
        print(message, flush=True)  # the per-stack table, with -s (.ci/run)

    # None: the environment run_emulation (and make emulate) default to, not one named here.
    status = run_emulation(synthesis.outdir, toolchain, env, tmp_path, say, None)
    assert status == 0, "\n".join(lines)
