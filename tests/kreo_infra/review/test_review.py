"""make review: the synth report, the change report between two synth outputs, and
the danger section (exit status 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kreo_infra.config import EnvironmentConfig
from tests.conftest import PROJECT_ROOT, Synthesis

SKIPS = PROJECT_ROOT / "config" / "policy" / "checkov-skips.yaml"


def synth(config: EnvironmentConfig, outdir: Path) -> Path:
    from kreo_infra.app import build_app

    build_app([config], charts_dir=PROJECT_ROOT / "charts", outdir=str(outdir)).synth()
    return outdir


@pytest.fixture(scope="module")
def production(configs: list[EnvironmentConfig]) -> EnvironmentConfig:
    return next(c for c in configs if c.name == "production")


@pytest.fixture(scope="module")
def outputs(
    providers: None, production: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Production as committed (twice), and production with three edits: a bigger
    database class, no DR copy of the media bucket, a renamed cluster."""
    changed = production.model_copy(
        update={
            "database": production.database.model_copy(update={"instance_class": "db.r6g.large"}),
            "storage": production.storage.model_copy(update={"replicate_to_dr_region": False}),
            "cluster": production.cluster.model_copy(update={"name": "kreo-prod"}),
        }
    )
    return {
        "base": synth(production, tmp_path_factory.mktemp("base")),
        "same": synth(production, tmp_path_factory.mktemp("same")),
        "changed": synth(changed, tmp_path_factory.mktemp("changed")),
    }


def report(base: Path, head: Path):
    from kreo_infra.review.diff import compare
    from kreo_infra.review.output import SynthOutput

    return compare(SynthOutput(base), SynthOutput(head))


def test_unchanged_pair_has_no_changes_and_exits_0(
    outputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from kreo_infra.review.__main__ import main

    assert report(outputs["base"], outputs["same"]).empty
    status = main([str(outputs["same"]), "--base", str(outputs["base"]), "--no-checkov"])
    assert status == 0
    out = capsys.readouterr().out
    assert "## Changes\n\nNo changes." in out
    assert "Danger" not in out


def test_database_class_change_is_listed_but_not_dangerous(outputs: dict[str, Path]) -> None:
    changes = report(outputs["base"], outputs["changed"])
    database = [
        c
        for c in changes.changed
        if c.resource.address.startswith("kreo-production-data: aws_db_instance.")
    ]
    assert {c.resource.path for c in database} == {"postgres/primary", "postgres/replica-0"}
    for change in database:
        (attribute,) = [a for a in change.attributes if a.path == "instance_class"]
        assert (attribute.before, attribute.after) == ("db.t3.medium", "db.r6g.large")
    assert not any("aws_db_instance" in d for d in changes.dangers)


def test_removed_dr_bucket_is_dangerous(outputs: dict[str, Path]) -> None:
    changes = report(outputs["base"], outputs["changed"])
    removed = {r.address for r in changes.removed}
    assert "kreo-production-data: aws_s3_bucket.storage/replica/bucket" in removed
    assert "kreo-production-data: aws_kms_key.storage/replica-key/key" in removed
    assert (
        "kreo-production-data: aws_s3_bucket_replication_configuration.storage/replication"
        in removed
    )
    assert not any(r.stack != "kreo-production-data" for r in changes.removed)
    dangers = changes.dangers
    assert "removes bucket `kreo-production-data: aws_s3_bucket.storage/replica/bucket`" in dangers
    assert any("KMS key" in d and "storage/replica-key/key" in d for d in dangers)
    assert not any("aws_s3_bucket_versioning" in d for d in dangers)  # not stateful itself


def test_renamed_cluster_forces_its_replacement(outputs: dict[str, Path]) -> None:
    changes = report(outputs["base"], outputs["changed"])
    (cluster,) = [c for c in changes.changed if c.resource.type == "aws_eks_cluster"]
    (name,) = [a for a in cluster.attributes if a.path == "name"]
    assert (name.before, name.after) == ("kreo-production", "kreo-prod")
    assert (
        "replaces cluster `kreo-production-cluster: aws_eks_cluster.control-plane/cluster`: "
        "`name` 'kreo-production' → 'kreo-prod'"
    ) in changes.dangers


def test_metadata_is_not_a_change(outputs: dict[str, Path]) -> None:
    changes = report(outputs["base"], outputs["changed"])
    for change in changes.changed:
        assert all(not a.path.startswith("//") for a in change.attributes)


def test_danger_exits_3_and_is_reported(
    outputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from kreo_infra.review.__main__ import main

    status = main([str(outputs["changed"]), "--base", str(outputs["base"]), "--no-checkov"])
    assert status == 3
    captured = capsys.readouterr()
    assert "### ⚠ Danger: data can be lost" in captured.out
    assert "- changed `kreo-production-data: aws_db_instance.postgres/primary`" in captured.out
    assert "  - `instance_class`: 'db.t3.medium' → 'db.r6g.large'" in captured.out
    assert "review: comparing" in captured.err
    assert "review: summarizing kreo-production-data" in captured.err  # progress per stack


def test_missing_output_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kreo_infra.review.__main__ import main

    assert main([str(tmp_path / "nothing"), "--no-checkov"]) == 2
    assert "no manifest.json" in capsys.readouterr().err


# --- the summary ----------------------------------------------------------------------------


def test_key_settings_come_from_the_synthesized_stacks(synthesis: Synthesis) -> None:
    from kreo_infra.review.output import SynthOutput
    from kreo_infra.review.report import key_settings

    output = SynthOutput(synthesis.outdir)
    for config in synthesis.configs:
        stacks = output.environments()[config.name]
        rows = dict(key_settings(output, config.name, stacks))
        assert rows["Kubernetes version"] == config.cluster.kubernetes_version
        group = config.cluster.node_groups["general"]
        for zone in config.network.availability_zone_ids:  # one group per zone
            assert rows[f"node group `general-{zone}`"].startswith(
                f"{', '.join(group.instance_types)}, {group.min_size} to {group.max_size} nodes"
            )
        database = config.database
        assert rows["PostgreSQL"] == (
            f"postgres {database.engine_version}, {database.instance_class}, "
            f"multi-AZ {database.multi_az}, {database.read_replicas} read replica(s), "
            f"backups {database.backup_retention_days} days"
        )
        assert rows["Cache"].endswith(
            f"{1 + config.cache.replicas_per_shard} x {config.cache.node_type}"
        )
        for name, chart in config.platform.charts.items():
            assert rows[f"chart `{name}`"] == f"{chart.chart} {chart.version}"
        assert rows["image tags"] == config.application.image_tag
        alarms = synthesis.resources(
            f"{config.stack_prefix}-observability", "aws_cloudwatch_metric_alarm"
        )
        assert rows["alarms"] == str(len(alarms))


def test_stacks_in_deployment_order_with_counts(synthesis: Synthesis) -> None:
    from kreo_infra.layers import environment_stacks
    from kreo_infra.review.output import SynthOutput

    output = SynthOutput(synthesis.outdir)
    groups = output.environments()
    assert list(groups) == ["account", "production", "staging"]
    for config in synthesis.configs:
        assert groups[config.name] == environment_stacks(config)
    counts = output.counts("kreo-production-edge")
    assert counts["aws_cloudfront_distribution"] == 3


def test_security_posture_per_stack(synthesis: Synthesis, checkov_run) -> None:
    from kreo_infra.review.report import posture_of

    posture = posture_of(checkov_run, SKIPS)
    assert sorted(posture) == synthesis.stack_names
    assert all(failed == 0 for _, failed, _ in posture.values())
    assert posture["kreo-production-edge"][2] > 0  # reviewed skips are counted, not hidden


def test_committed_example_report_is_current(synthesis: Synthesis, checkov_run) -> None:
    from kreo_infra.review.output import SynthOutput
    from kreo_infra.review.report import posture_of, render

    text = render(
        SynthOutput(synthesis.outdir),
        posture=posture_of(checkov_run, SKIPS),
        changes=None,
        progress=lambda _: None,
        only="production",
    )
    committed = (PROJECT_ROOT / "docs" / "review-production.md").read_text(encoding="utf-8")
    assert committed == text, "run `make review-example` and commit docs/review-production.md"
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/review-production.md" in readme
