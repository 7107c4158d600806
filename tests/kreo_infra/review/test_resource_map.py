"""make resource-map: docs/architecture.md's table of Terraform type -> construct -> file."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, Synthesis

ARCHITECTURE = PROJECT_ROOT / "docs" / "architecture.md"
HERE = Path(__file__).relative_to(PROJECT_ROOT).as_posix()


def test_committed_resource_map_is_current(synthesis: Synthesis) -> None:
    from kreo_infra.review.resource_map import block_of, render, rows, stacks_of

    committed = block_of(ARCHITECTURE.read_text(encoding="utf-8"))
    assert committed == render(rows(stacks_of(synthesis.app))), (
        "run `make resource-map` and commit docs/architecture.md"
    )
    # The target the message names is the one that writes this file.
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^resource-map:.*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE)
    assert target is not None
    assert "-m kreo_infra.review.resource_map" in target[1]
    assert "--out docs/architecture.md" in target[1]


def test_every_synthesized_block_is_walked(synthesis: Synthesis) -> None:
    """The walk finds exactly the resources, data sources and ephemeral resources of
    the synthesized JSON, stack by stack (cdktf's remote-state reads aside)."""
    from kreo_infra.review.resource_map import elements, stacks_of

    walked: Counter[tuple[str, str, str]] = Counter()
    for stack in stacks_of(synthesis.app):
        for kind, resource_type, _ in elements(stack):
            walked[stack.node.id, kind, resource_type] += 1
    synthesized: Counter[tuple[str, str, str]] = Counter()
    for name in synthesis.stack_names:
        for kind in ("resource", "data", "ephemeral"):
            for resource_type, blocks in synthesis.stack(name).get(kind, {}).items():
                if (kind, resource_type) != ("data", "terraform_remote_state"):
                    synthesized[name, kind, resource_type] += len(blocks)
    assert walked == synthesized


def test_rows_name_the_construct_and_its_file(synthesis: Synthesis) -> None:
    from kreo_infra.review.resource_map import Row, rows, stacks_of

    table = rows(stacks_of(synthesis.app))
    assert len(table) == len(set(table))
    for row in table:
        assert (PROJECT_ROOT / "constructs" / row.file).is_file(), row
    # A resource in a construct, one directly in a stack, an ephemeral one.
    assert (
        Row("resource", "aws_db_instance", "PostgresDatabase", "kreo_infra/data/postgres.py")
        in table
    )
    assert any(
        r.kind == "resource"
        and r.construct.endswith("Stack")
        and r.file.startswith("kreo_infra/stacks/")
        for r in table
    )
    assert any(r.address_type == "ephemeral.aws_secretsmanager_random_password" for r in table)


# The walk, on a construct tree of its own: classes of this module stand for the
# project's (package="tests"), cdktf's Construct for any other package's.


@pytest.fixture
def tree(providers: None) -> dict[str, object]:
    from cdktf import TerraformStack, Testing
    from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
    from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
    from constructs import Construct

    class ProjectStack(TerraformStack):
        pass

    class Outer(Construct):
        pass

    class Inner(Construct):
        pass

    stack = ProjectStack(Testing.app(), "test")
    outer = Outer(stack, "outer")
    return {
        "stack": stack,
        "outer": outer,
        "in-stack": S3Bucket(stack, "in-stack"),
        "in-foreign": S3Bucket(Construct(stack, "foreign"), "bucket"),
        "two-deep": S3Bucket(Construct(Construct(outer, "a"), "b"), "bucket"),
        "nearest": S3Bucket(Inner(outer, "inner"), "bucket"),
        "data": DataAwsPartition(Construct(outer, "c"), "partition"),
    }


def test_a_resource_directly_in_a_stack_belongs_to_the_stack(tree) -> None:
    from kreo_infra.review.resource_map import owner

    assert owner(tree["in-stack"], package="tests") is tree["stack"]


def test_constructs_of_other_packages_are_walked_past(tree) -> None:
    from kreo_infra.review.resource_map import owner

    assert owner(tree["in-foreign"], package="tests") is tree["stack"]
    assert owner(tree["two-deep"], package="tests") is tree["outer"]
    assert owner(tree["data"], package="tests") is tree["outer"]


def test_the_nearest_project_construct_owns(tree) -> None:
    from kreo_infra.review.resource_map import owner

    assert type(owner(tree["nearest"], package="tests")).__name__ == "Inner"


def test_rows_of_a_tree(tree) -> None:
    from kreo_infra.review.resource_map import render, rows

    table = rows([tree["stack"]], package="tests", source_root=PROJECT_ROOT)
    # Resources before data sources; one row per type and class (two buckets are
    # the stack's, two constructs' worth are Outer's); classes named as Python does.
    assert [(r.kind, r.address_type, r.construct.rsplit(".", 1)[-1]) for r in table] == [
        ("resource", "aws_s3_bucket", "Inner"),
        ("resource", "aws_s3_bucket", "Outer"),
        ("resource", "aws_s3_bucket", "ProjectStack"),
        ("data", "data.aws_partition", "Outer"),
    ]
    assert {r.file for r in table} == {HERE}
    assert render(table[-1:], link_prefix="../") == (
        "| Terraform type | construct | file |\n"
        "| --- | --- | --- |\n"
        f"| `data.aws_partition` | `{table[-1].construct}` | [{HERE}](../{HERE}) |\n"
    )


def test_replace_block_rewrites_only_between_the_markers() -> None:
    from kreo_infra.review.resource_map import BEGIN, END, block_of, replace_block

    document = f"# Doc\n\nintro\n\n{BEGIN}\nold\n{END}\n\nafter\n"
    rewritten = replace_block(document, "| new |\n")
    assert rewritten == f"# Doc\n\nintro\n\n{BEGIN}\n| new |\n{END}\n\nafter\n"
    assert block_of(rewritten) == "| new |\n"


@pytest.mark.parametrize(
    "document",
    [
        "no markers",
        "<!-- resource-map: begin (generated by `make resource-map`; do not edit) -->\n",
        "<!-- resource-map: end -->\n"
        "<!-- resource-map: begin (generated by `make resource-map`; do not edit) -->\n",
    ],
    ids=["none", "no end", "end first"],
)
def test_missing_or_misordered_markers_are_an_error(document: str) -> None:
    from kreo_infra.review.resource_map import replace_block

    with pytest.raises(ValueError, match="resource-map: begin"):
        replace_block(document, "| new |\n")


def test_main_stops_before_synthesis_when_the_markers_are_missing(tmp_path, capsys) -> None:
    from kreo_infra.review.resource_map import main

    doc = tmp_path / "architecture.md"
    doc.write_text("# Architecture\n", encoding="utf-8")
    assert main(["--out", str(doc), "--config", str(tmp_path / "none")]) == 2
    assert "resource-map: begin" in capsys.readouterr().err
    assert doc.read_text(encoding="utf-8") == "# Architecture\n"
