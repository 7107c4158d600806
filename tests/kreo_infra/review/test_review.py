"""make review: the synth report, the change report between two synth outputs, and
the danger section (exit status 3)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kreo_infra.config import EnvironmentConfig
from tests.conftest import PROJECT_ROOT, Synthesis

SKIPS = PROJECT_ROOT / "config" / "policy" / "checkov-skips.yaml"


BIGGER_CLASS = "db.r6g.large"
RENAMED_CLUSTER = "kreo-renamed"


@pytest.fixture(scope="module")
def config(configs: list[EnvironmentConfig]) -> EnvironmentConfig:
    """An environment each edit below changes: it has read replicas and copies its media
    to the DR region (chosen by its config, not its name)."""
    return next(c for c in configs if c.database.read_replicas and c.storage.replicate_to_dr_region)


def edit_stack(outdir: Path, stack: str, edit: Callable[[dict[str, Any]], None]) -> None:
    path = outdir / "stacks" / stack / "cdk.tf.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


@pytest.fixture(scope="module")
def outputs(
    synthesis: Synthesis, config: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The session's synthesis (base), the same JSON written differently (same), and
    a copy with three edits made to its JSON: a bigger database class, no DR copy
    of the media bucket, a renamed cluster (and an edited metadata field).

    The review reads synthesized JSON, so these edits are what a second
    synthesis from edited config would write, without paying for it. That the
    config reaches these attributes is tested with the stacks: staging
    synthesizes without the DR copy (tests/kreo_infra/stacks/test_data.py), and
    one environment synthesized alone matches the session byte for byte
    (tests/kreo_infra/test_app.py).
    """
    assert config.database.instance_class != BIGGER_CLASS
    assert config.cluster_name != RENAMED_CLUSTER
    root = tmp_path_factory.mktemp("review")
    same, changed = root / "same", root / "changed"
    shutil.copytree(synthesis.outdir, same)
    shutil.copytree(synthesis.outdir, changed)
    prefix = config.stack_prefix
    # The same content written differently (keys sorted, no indentation): the
    # review compares what the JSON says, not its bytes.
    for stack_file in (same / "stacks").glob("*/cdk.tf.json"):
        document = json.loads(stack_file.read_text(encoding="utf-8"))
        stack_file.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")

    def bigger_database_without_dr_copy(document: dict[str, Any]) -> None:
        resources = document["resource"]
        for instance in resources["aws_db_instance"].values():
            instance["instance_class"] = BIGGER_CLASS
            # cdktf's metadata moves with any refactoring; it is never a change.
            instance["//"]["metadata"]["stackTrace"] = ["edited"]
        for kind in list(resources):
            for name, body in list(resources[kind].items()):
                path = body["//"]["metadata"]["path"].removeprefix(f"{prefix}-data/")
                if path.startswith("storage/replica"):  # replica, replica-key, replication
                    del resources[kind][name]
            if not resources[kind]:
                del resources[kind]

    def renamed_cluster(document: dict[str, Any]) -> None:
        (cluster,) = document["resource"]["aws_eks_cluster"].values()
        cluster["name"] = RENAMED_CLUSTER

    edit_stack(changed, f"{prefix}-data", bigger_database_without_dr_copy)
    edit_stack(changed, f"{prefix}-cluster", renamed_cluster)
    return {"base": synthesis.outdir, "same": same, "changed": changed}


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


def test_database_class_change_is_listed_but_not_dangerous(
    outputs: dict[str, Path], config: EnvironmentConfig
) -> None:
    changes = report(outputs["base"], outputs["changed"])
    database = [
        c
        for c in changes.changed
        if c.resource.address.startswith(f"{config.stack_prefix}-data: aws_db_instance.")
    ]
    replicas = {f"postgres/replica-{i}" for i in range(config.database.read_replicas)}
    assert {c.resource.path for c in database} == {"postgres/primary", *replicas}
    for change in database:
        (attribute,) = [a for a in change.attributes if a.path == "instance_class"]
        assert (attribute.before, attribute.after) == (
            config.database.instance_class,
            BIGGER_CLASS,
        )
    assert not any("aws_db_instance" in d for d in changes.dangers)


def test_removed_dr_bucket_is_dangerous(
    outputs: dict[str, Path], config: EnvironmentConfig
) -> None:
    changes = report(outputs["base"], outputs["changed"])
    removed = {r.address for r in changes.removed}
    data = f"{config.stack_prefix}-data"
    assert f"{data}: aws_s3_bucket.storage/replica/bucket" in removed
    assert f"{data}: aws_kms_key.storage/replica-key/key" in removed
    assert f"{data}: aws_s3_bucket_replication_configuration.storage/replication" in removed
    assert not any(r.stack != data for r in changes.removed)
    dangers = changes.dangers
    assert f"removes bucket `{data}: aws_s3_bucket.storage/replica/bucket`" in dangers
    assert any("KMS key" in d and "storage/replica-key/key" in d for d in dangers)
    assert not any("aws_s3_bucket_versioning" in d for d in dangers)  # not stateful itself


def test_renamed_cluster_forces_its_replacement(
    outputs: dict[str, Path], config: EnvironmentConfig
) -> None:
    changes = report(outputs["base"], outputs["changed"])
    (cluster,) = [c for c in changes.changed if c.resource.type == "aws_eks_cluster"]
    (name,) = [a for a in cluster.attributes if a.path == "name"]
    assert (name.before, name.after) == (config.cluster_name, RENAMED_CLUSTER)
    assert (
        f"replaces cluster `{config.stack_prefix}-cluster: aws_eks_cluster.control-plane/cluster`: "
        f"`name` '{config.cluster_name}' → '{RENAMED_CLUSTER}'"
    ) in changes.dangers


def test_metadata_is_not_a_change(outputs: dict[str, Path]) -> None:
    changes = report(outputs["base"], outputs["changed"])
    for change in changes.changed:
        assert all(not a.path.startswith("//") for a in change.attributes)


def test_danger_exits_3_and_is_reported(
    outputs: dict[str, Path], config: EnvironmentConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    from kreo_infra.review.__main__ import main

    status = main([str(outputs["changed"]), "--base", str(outputs["base"]), "--no-checkov"])
    assert status == 3
    captured = capsys.readouterr()
    assert "### ⚠ Danger: data can be lost" in captured.out
    data = f"{config.stack_prefix}-data"
    assert f"- changed `{data}: aws_db_instance.postgres/primary`" in captured.out
    before = config.database.instance_class
    assert f"  - `instance_class`: '{before}' → '{BIGGER_CLASS}'" in captured.out
    assert "review: comparing" in captured.err
    assert f"review: summarizing {data}" in captured.err  # progress per stack


def test_missing_output_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kreo_infra.review.__main__ import main

    assert main([str(tmp_path / "nothing"), "--no-checkov"]) == 2
    assert "no manifest.json" in capsys.readouterr().err


# --- the summary ----------------------------------------------------------------------------


def test_key_settings_come_from_the_synthesized_stacks(synthesis: Synthesis) -> None:
    from kreo_infra.config.eks import EKS_STANDARD_SUPPORT
    from kreo_infra.review.output import SynthOutput
    from kreo_infra.review.report import key_settings

    output = SynthOutput(synthesis.outdir)
    for config in synthesis.configs:
        stacks = output.environments()[config.name]
        rows = dict(key_settings(output, config.name, stacks))
        version = config.cluster.kubernetes_version
        end = EKS_STANDARD_SUPPORT[version]
        assert rows["Kubernetes version"] == (
            f"{version} (EKS standard support until {end})" if end else version
        )
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
    """Each environment's bootstrap (a recovery environment has none) and layers; the
    media and web-app distributions where the edge makes them (not in a recovery)."""
    from kreo_infra.layers import account_layers, environment_stacks
    from kreo_infra.review.output import SynthOutput

    output = SynthOutput(synthesis.outdir)
    groups = output.environments()
    assert list(groups) == ["account", *(config.name for config in synthesis.configs)]
    for config in synthesis.configs:
        assert groups[config.name] == [
            *(f"{config.stack_prefix}-{layer}" for layer in account_layers(config)),
            *environment_stacks(config),
        ]
        counts = output.counts(f"{config.stack_prefix}-edge")
        assert counts["aws_cloudfront_distribution"] == (0 if config.recovery_of else 3)
    assert groups["account"] == [f"{synthesis.configs[0].project}-github"]


def test_security_posture_per_stack(synthesis: Synthesis, checkov_run) -> None:
    from kreo_infra.review.report import posture_of

    posture = posture_of(checkov_run, SKIPS)
    assert sorted(posture) == synthesis.stack_names
    assert all(failed == 0 for _, failed, _ in posture.values())
    for config in synthesis.configs:  # reviewed skips are counted, not hidden
        stacks = [s for s in posture if s.startswith(f"{config.stack_prefix}-")]
        assert sum(posture[s][2] for s in stacks) > 0, config.name
        edge = f"{config.stack_prefix}-edge"
        if synthesis.resources(edge, "aws_cloudfront_distribution"):  # not in a recovery
            assert posture[edge][2] > 0  # the CDN's and web-app buckets' reviewed skips


def test_committed_example_report_is_current(synthesis: Synthesis, checkov_run) -> None:
    from kreo_infra.review.output import SynthOutput
    from kreo_infra.review.report import posture_of, render

    # The environment and the file are the ones `make review-example` writes.
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    (only, out) = re.findall(
        r"^review-example:.*\n(?:\t.*\n)*?\t.*-m kreo_infra\.review cdktf\.out --only (\S+) "
        r"--out (\S+)",
        makefile,
        flags=re.MULTILINE,
    )[0]
    assert only in [config.name for config in synthesis.configs]
    text = render(
        SynthOutput(synthesis.outdir),
        posture=posture_of(checkov_run, SKIPS),
        changes=None,
        progress=lambda _: None,
        only=only,
    )
    committed = (PROJECT_ROOT / out).read_text(encoding="utf-8")
    assert committed == text, f"run `make review-example` and commit {out}"
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert out in readme
