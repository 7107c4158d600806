"""The saved plans' summary: the ``Plan:`` line and the danger section of each stack, from
``terraform show`` and ``terraform show -json`` (a fixture plan, no Terraform run)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from kreo_infra.review.diff import STATEFUL_TYPES
from kreo_infra.review.plan import (
    EXIT_BAD_INPUT,
    EXIT_NOT_CREATE_ONLY,
    PLAN_TEXT_LIMIT,
    main,
    not_create_only,
    plan_dangers,
    plan_line,
    render,
)

FIXTURE = Path(__file__).parent / "fixtures" / "plan.json"
PLAN_TEXT = """Terraform will perform the following actions:

  # aws_db_instance.database_primary_4F2A must be replaced
-/+ resource "aws_db_instance" "database_primary_4F2A" {
      ~ identifier = "kreo-env" -> "kreo-env-renamed" # forces replacement
    }

Plan: 3 to add, 1 to change, 4 to destroy.
"""


def plan() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def stack_dir(root: Path, name: str, status: str, plan_json: dict[str, Any] | None = None) -> Path:
    directory = root / name
    directory.mkdir()
    (directory / "plan.status").write_text(f"{status}\n")
    if plan_json is not None:
        (directory / "plan.json").write_text(json.dumps(plan_json))
        (directory / "plan.txt").write_text(PLAN_TEXT)
    return directory


def test_deletes_and_replacements_of_stateful_resources_only() -> None:
    dangers = {d.address: d for d in plan_dangers(plan())}
    assert set(dangers) == {
        "aws_db_instance.database_primary_4F2A",
        "aws_s3_bucket.media_dr_copy_9C1B",
        "aws_eks_cluster.control_plane_cluster_11AA",
        "aws_elasticache_replication_group.cache_group_0A0A (deposed 00000001)",
    }
    # delete-then-create and create-then-delete (create_before_destroy) both replace.
    assert dangers["aws_db_instance.database_primary_4F2A"].replaces
    assert dangers["aws_eks_cluster.control_plane_cluster_11AA"].replaces
    assert not dangers["aws_s3_bucket.media_dr_copy_9C1B"].replaces


def test_not_dangers_updates_forgets_reads_and_stateless_types() -> None:
    addresses = {d.address for d in plan_dangers(plan())}
    assert "aws_kms_key.state_key_77B0" not in addresses  # update in place
    assert "aws_opensearch_domain.search_domain_3E3E" not in addresses  # forget: stays in AWS
    assert "aws_security_group.runner_5D0E" not in addresses  # no data
    assert "data.aws_s3_bucket.state" not in addresses  # a data source
    assert "aws_security_group" not in STATEFUL_TYPES


def test_danger_says_why_and_which_argument() -> None:
    text = {d.address: str(d) for d in plan_dangers(plan())}
    assert text["aws_db_instance.database_primary_4F2A"] == (
        "replaces database `aws_db_instance.database_primary_4F2A` "
        "(an argument cannot be updated in place; forced by `identifier`)"
    )
    assert (
        "forced by `encryption_config[0].resources`"
        in text["aws_eks_cluster.control_plane_cluster_11AA"]
    )
    assert text["aws_s3_bucket.media_dr_copy_9C1B"] == (
        "removes bucket `aws_s3_bucket.media_dr_copy_9C1B` (removed from the configuration)"
    )


def test_unknown_reason_is_shown_verbatim() -> None:
    change = plan()["resource_changes"][1] | {"action_reason": "delete_because_something_new"}
    (danger,) = plan_dangers({"resource_changes": [change]})
    assert str(danger).endswith("(delete_because_something_new)")


def test_empty_plan_has_no_dangers() -> None:
    assert plan_dangers({}) == []
    assert plan_dangers({"resource_changes": None}) == []


def test_create_only() -> None:
    assert not_create_only(plan()) == [
        "aws_db_instance.database_primary_4F2A: delete/create",
        "aws_s3_bucket.media_dr_copy_9C1B: delete",
        "aws_eks_cluster.control_plane_cluster_11AA: create/delete",
        "aws_kms_key.state_key_77B0: update",
        "aws_security_group.runner_5D0E: delete",
        "aws_opensearch_domain.search_domain_3E3E: forget",
        "aws_elasticache_replication_group.cache_group_0A0A: delete",
    ]
    creates = [c for c in plan()["resource_changes"] if c["change"]["actions"] != ["delete"]]
    only = [c for c in creates if set(c["change"]["actions"]) <= {"create", "no-op", "read"}]
    assert not_create_only({"resource_changes": only}) == []


def test_plan_line_is_terraforms_own() -> None:
    assert plan_line(PLAN_TEXT) == "Plan: 3 to add, 1 to change, 4 to destroy."
    assert plan_line("No changes. Your infrastructure matches the configuration.") is None


def test_summary_of_a_phase(tmp_path: Path) -> None:
    dirs = [
        stack_dir(tmp_path, "kreo-env-base", "0"),
        stack_dir(tmp_path, "kreo-env-data", "2", plan()),
        stack_dir(tmp_path, "kreo-env-app", "deferred"),
    ]
    text = render("terraform plan: env, infrastructure", dirs)
    assert text.startswith("### terraform plan: env, infrastructure\n")
    assert "#### ⚠ Danger: data can be lost" in text
    assert "- `kreo-env-data`: replaces database `aws_db_instance.database_primary_4F2A`" in text
    assert "- `kreo-env-base`: no changes" in text
    assert "- `kreo-env-data`: Plan: 3 to add, 1 to change, 4 to destroy." in text
    assert "`kreo-env-app`: **deferred**" in text
    # In deployment order, as given.
    assert (
        text.index("kreo-env-base`: no")
        < text.index("kreo-env-data`: Plan")
        < text.index("kreo-env-app`: **deferred")
    )


def test_summary_without_dangers_says_so(tmp_path: Path) -> None:
    safe = {"resource_changes": [plan()["resource_changes"][-1]]}
    text = render("t", [stack_dir(tmp_path, "kreo-env-base", "2", safe)])
    assert "No stateful resource is removed or replaced." in text
    assert "Danger" not in text


def test_outputs_only_changes_have_no_plan_line(tmp_path: Path) -> None:
    directory = stack_dir(tmp_path, "kreo-env-base", "2", {"resource_changes": []})
    (directory / "plan.txt").write_text("Changes to Outputs:\n  + vpc_id = (known after apply)\n")
    assert "- `kreo-env-base`: changes to outputs only" in render("t", [directory])


def test_long_plans_keep_their_tail(tmp_path: Path) -> None:
    directory = stack_dir(tmp_path, "kreo-env-base", "2", plan())
    (directory / "plan.txt").write_text("x" * (PLAN_TEXT_LIMIT * 2) + "\n" + PLAN_TEXT)
    text = render("t", [directory])
    assert "Plan: 3 to add" in text
    assert len(text) < PLAN_TEXT_LIMIT + 5_000


def test_cli_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = stack_dir(tmp_path, "kreo-env-data", "2", plan())
    assert main(["--title", "plans", str(directory)]) == 0
    assert capsys.readouterr().out.startswith("### plans\n")


def test_cli_create_only_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = stack_dir(tmp_path, "kreo-env-data", "2", plan())
    assert main(["--require-create-only", str(bad)]) == EXIT_NOT_CREATE_ONLY
    assert "not a create: kreo-env-data: aws_kms_key.state_key_77B0: update" in (
        capsys.readouterr().err
    )
    good = tmp_path / "kreo-env-base"
    shutil.copytree(bad, good)
    (good / "plan.json").write_text(json.dumps({"resource_changes": []}))
    assert main(["--require-create-only", str(good)]) == 0


def test_cli_missing_plan_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kreo-env-base").mkdir()
    assert main([str(tmp_path / "kreo-env-base")]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.startswith("error: ")
