"""The policy gate: which checkov failures block, and the skip list's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from kreo_infra.policy.checkov import Finding, Skip, _parse_report, blocking, load_skips, unused

BUCKET = Finding("kreo-alpha-data", "CKV_AWS_18", "aws_s3_bucket.media", "access logging")
KEY = Finding("kreo-alpha-data", "CKV_AWS_7", "aws_kms_key.db", "rotation")


def test_unskipped_failure_blocks() -> None:
    assert blocking([BUCKET, KEY], [Skip("CKV_AWS_18", "reason", "aws_s3_bucket.logs")]) == [
        BUCKET,
        KEY,
    ]


def test_skip_covers_matching_resource_only() -> None:
    skips = [Skip("CKV_AWS_18", "logs bucket cannot log to itself", "aws_s3_bucket.*")]
    assert blocking([BUCKET, KEY], skips) == [KEY]


def test_skip_covers_matching_stack_only() -> None:
    other = Finding("kreo-beta-data", "CKV_AWS_7", "aws_kms_key.db", "rotation")
    skips = [Skip("CKV_AWS_7", "reason", stack="kreo-beta-*")]
    assert blocking([KEY, other], skips) == [KEY]


def test_skip_without_resource_covers_every_resource() -> None:
    assert blocking([KEY], [Skip("CKV_AWS_7", "reason")]) == []


def test_unused_skips_are_reported() -> None:
    stale = Skip("CKV_AWS_999", "reason")
    assert unused([stale, Skip("CKV_AWS_7", "r")], [KEY]) == [stale]


def test_skip_needs_a_one_line_reason(tmp_path: Path) -> None:
    path = tmp_path / "skips.yaml"
    path.write_text("skips:\n  - check: CKV_AWS_7\n")
    with pytest.raises(ValueError, match=r"skips\[0\] needs a check and a one-line reason"):
        load_skips(path)
    path.write_text("skips:\n  - check: CKV_AWS_7\n    reason: |\n      two\n      lines\n")
    with pytest.raises(ValueError, match="one-line reason"):
        load_skips(path)


def test_skip_list_loads(tmp_path: Path) -> None:
    path = tmp_path / "skips.yaml"
    path.write_text(
        "skips:\n  - {check: CKV_AWS_7, resource: 'aws_kms_key.*', stack: 'kreo-s*', reason: why}\n"
    )
    assert load_skips(path) == [Skip("CKV_AWS_7", "why", "aws_kms_key.*", "kreo-s*")]


def test_report_is_split_per_stack() -> None:
    report = {
        "check_type": "terraform_json",
        "results": {
            "passed_checks": [{"check_id": "CKV_AWS_41", "file_path": "/kreo-a-base/cdk.tf.json"}],
            "failed_checks": [
                {
                    "check_id": "CKV_AWS_7",
                    "file_path": "/kreo-b-base/cdk.tf.json",
                    "resource": "aws_kms_key.db",
                    "check_name": "rotation",
                }
            ],
            "parsing_errors": [],
        },
    }
    run = _parse_report(report, ["kreo-a-base", "kreo-b-base"])
    assert run.stacks["kreo-a-base"].passed == ["CKV_AWS_41"]
    assert run.stacks["kreo-b-base"].failed == [
        Finding("kreo-b-base", "CKV_AWS_7", "aws_kms_key.db", "rotation")
    ]


# --- the session's one scan: each framework's findings reach their own input --------------


def _check(check_id: str, file_path: str, resource: str = "r") -> dict:
    return {"check_id": check_id, "file_path": file_path, "resource": resource, "check_name": "n"}


SCAN_REPORT = [
    {
        "check_type": "terraform_json",
        "results": {
            "passed_checks": [_check("CKV_AWS_1", "/stacks/kreo-alpha-data/cdk.tf.json")],
            "failed_checks": [_check("CKV_AWS_7", "/stacks/kreo-beta-data/cdk.tf.json", "k")],
            "parsing_errors": [],
        },
    },
    {
        "check_type": "kubernetes",
        "results": {
            "passed_checks": [_check("CKV_K8S_1", "/manifests/app/alpha/rendered.yaml")] * 3,
            "failed_checks": [
                _check("CKV_K8S_9", "/manifests/app/beta/rendered.yaml", "Pod.default.p")
            ],
            "parsing_errors": [],
        },
    },
    {
        "check_type": "github_actions",
        "results": {
            "passed_checks": [_check("CKV_GHA_1", "/.github/workflows/ci.yml")],
            "failed_checks": [_check("CKV2_GHA_1", "/.github/workflows/deploy.yml", "jobs.x")],
        },
    },
]


def test_one_scan_attributes_each_finding_to_its_input() -> None:
    from kreo_infra.policy.checkov import FileReport, parse_scan

    scan = parse_scan(SCAN_REPORT, ["kreo-alpha-data", "kreo-beta-data"], ["app/alpha", "app/beta"])
    assert scan.stacks.stacks["kreo-alpha-data"].passed == ["CKV_AWS_1"]
    assert scan.stacks.stacks["kreo-alpha-data"].failed == []
    assert [f.check_id for f in scan.stacks.stacks["kreo-beta-data"].failed] == ["CKV_AWS_7"]
    assert scan.manifests["app/alpha"] == FileReport(failed=[], passed=3, parsing_errors=[])
    assert scan.manifests["app/beta"] == FileReport(failed=["CKV_K8S_9 on Pod.default.p"], passed=0)
    assert scan.workflows == FileReport(failed=["CKV2_GHA_1 on deploy.yml: jobs.x"], passed=1)


def test_kubernetes_parts_of_several_processes_are_merged() -> None:
    from kreo_infra.policy.checkov import parse_scan

    second = {
        "check_type": "kubernetes",
        "results": {
            "passed_checks": [],
            "failed_checks": [_check("CKV2_K8S_6", "/manifests/app/gamma/rendered.yaml", "Pod.p")],
            "parsing_errors": ["/scratch/group-1/manifests/app/gamma/rendered.yaml"],
        },
    }
    scan = parse_scan(
        [*SCAN_REPORT, second],
        ["kreo-alpha-data", "kreo-beta-data"],
        ["app/alpha", "app/beta", "app/gamma"],
    )
    assert scan.manifests["app/alpha"].passed == 3
    assert scan.manifests["app/gamma"].failed == ["CKV2_K8S_6 on Pod.p"]
    assert scan.manifests["app/gamma"].parsing_errors == ["rendered.yaml"]


def test_each_environment_gets_its_own_kubernetes_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """checkov's connection checks (CKV2_K8S_6: a pod needs a NetworkPolicy) match
    objects of every file one process scans: one environment's NetworkPolicy
    would pass another's pods. So each group is scanned in its own process."""
    from kreo_infra.policy import checkov

    stacks = tmp_path / "stacks"
    (stacks / "kreo-alpha-data").mkdir(parents=True)
    (stacks / "kreo-alpha-data" / "cdk.tf.json").write_text("{}")
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "ci.yml").write_text("on: push\n")
    seen: list[tuple[list[str], set[str]]] = []

    def fake_checkov(arguments: list[str], timeout: int) -> list[dict]:
        root = Path(arguments[arguments.index("--directory") + 1])
        files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        frameworks = arguments[arguments.index("--framework") + 1 :]
        seen.append((frameworks, files))
        return [{"check_type": f, "results": {}} for f in frameworks]

    monkeypatch.setattr(checkov, "_checkov", fake_checkov)
    checkov.scan(
        stacks,
        {"alpha": {"app/alpha": "a: 1\n"}, "beta": {"app/beta": "b: 1\n"}},
        workflows,
    )
    assert sorted((tuple(f), sorted(files)) for f, files in seen) == [
        (("kubernetes",), ["manifests/app/beta/rendered.yaml"]),
        (
            ("terraform_json", "kubernetes", "github_actions"),
            [".github/workflows/ci.yml", "manifests/app/alpha/rendered.yaml",
             "stacks/kreo-alpha-data/cdk.tf.json"],
        ),
    ]  # fmt: skip


def test_a_framework_that_reported_nothing_fails_the_scan() -> None:
    from kreo_infra.policy.checkov import parse_scan

    without_kubernetes = [p for p in SCAN_REPORT if p["check_type"] != "kubernetes"]
    with pytest.raises(RuntimeError, match="reported nothing for kubernetes"):
        parse_scan(without_kubernetes, ["kreo-alpha-data"], ["app/alpha"])
