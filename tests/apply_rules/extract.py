"""The data behind tests/test_apply_rules.py: pinned charts' value keys, pre-fix fragments.

The suite imports the helpers below; it never runs the command, which regenerates
the committed data.

``chart_values_exist_in_pinned_chart`` (tests/test_apply_rules.py) checks every
``helm_release``'s values against ``chart_values/<chart>-<version>.txt``: the
value keys the chart defines, two levels deep, i.e. those its ``values.yaml``
sets or documents as a comment (``# minAvailable: 1``), its
``values.schema.json`` declares, or a template reads (``.Values.a.b``). No chart
code is kept, only that list. A chart bump is one command, from a chart Helm
pulled::

    helm pull external-dns --repo https://kubernetes-sigs.github.io/external-dns \\
        --version 1.22.0 --untar -d /tmp/charts
    python -m tests.apply_rules.extract /tmp/charts/external-dns \\
        --source "https://kubernetes-sigs.github.io/external-dns (helm pull)" --write

or from a (bare) git clone of the chart's repository::

    python -m tests.apply_rules.extract --git /path/to/external-dns.git \\
        external-dns-helm-chart-1.22.0 charts/external-dns \\
        --source "github.com/kubernetes-sigs/external-dns" --write

``--write`` writes ``chart_values/<name>-<version>.txt`` (name and version from
Chart.yaml; ``--version`` when the repository holds a Chart.yaml template);
without it the list goes to stdout. The header records the command.

A line ``key`` is a top-level value, ``key.child`` one level down where the
chart's default is a non-empty map, and ``key.*`` a map whose keys are free: an
empty default (``podLabels: {}``), a subchart's values (Chart.yaml
dependencies), ``global``, or a map named with ``--open`` (argument maps such as
cluster-autoscaler's ``extraArgs``).

``python -m tests.apply_rules.extract --pre-fix`` rewrites ``pre_fix/``: the
resources listed in ``PRE_FIX`` (original addresses, bodies unchanged) from the
snapshots at commit ``PRE_FIX_COMMIT``, and the workflows' credential steps.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CHART_VALUES_DIR = HERE / "chart_values"
PRE_FIX_DIR = HERE / "pre_fix"
PRE_FIX_COMMIT = "3871521"
"""The state before the apply-time fixes (tests/__snapshots__ recorded the synthesis)."""

# The fragments are recorded data: the stacks of one environment (and the account's)
# as synthesized at PRE_FIX_COMMIT. Their names are what was recorded, not a choice a
# test makes; the tests read the environment back from the fragments' names.
RECORDED_ENVIRONMENT = "production"  # names-environment: recorded at PRE_FIX_COMMIT
_RECORDED = f"kreo-{RECORDED_ENVIRONMENT}"

PRE_FIX: dict[str, dict[str, list[str]]] = {
    "kreo-bootstrap": {
        "aws_iam_role": [
            "deploy-role-production_role_9184DB0F",  # names-environment: a recorded address
            "deploy-role-staging_role_86F2D02F",  # names-environment: a recorded address
            "plan-role_E487355C",
        ],
        "aws_kms_alias": ["state_key_alias_D8D2FE24"],
    },
    f"{_RECORDED}-app": {
        "helm_release": ["kreo-marketplace_release_518C32BA"],
        "aws_iam_role_policy": ["identities_api-gateway_policy_2554DAE3"],
    },
    f"{_RECORDED}-cluster": {
        "aws_ecr_repository": ["registry_api-gateway_280C4F27"],
        "aws_eks_access_entry": [
            "control-plane_admin-0_DF8D1A66",
            "control-plane_admin-1_DE19CCCE",
            "control-plane_readonly-0_D12E4096",
            "control-plane_reviewer-0_1F29D58C",
        ],
        "aws_iam_role_policy": ["external-secrets_policy_A9DA2AA0"],
    },
    f"{_RECORDED}-data": {
        "aws_db_instance": ["postgres_primary_11FB0C6D", "postgres_replica-0_26B79F0D"],
        "aws_opensearch_domain": ["search_domain_662C30ED"],
        "aws_secretsmanager_secret": ["secrets_grafana-admin_F00A0DF3"],
    },
    f"{_RECORDED}-platform": {
        "helm_release": ["external-dns_release_90291C33", "kreo-platform_release_1E687815"],
    },
}
"""Per stack, the resources (type: names) the rules' bite tests need."""

WORKFLOWS = ("infra-ci.yml", "infra-deploy.yml")
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"


@dataclass
class Chart:
    """What a chart says about its values: values.yaml (parsed and as text), Chart.yaml,
    values.schema.json and the templates."""

    values: dict[str, Any]
    values_text: str
    chart: dict[str, Any]
    schema: dict[str, Any]
    templates: list[str] = field(default_factory=list)


def key_paths(
    values: dict[str, Any], *, subcharts: frozenset[str] = frozenset(), open_maps=frozenset()
) -> set[str]:
    """The keys ``values.yaml`` sets, two levels deep (see the module)."""
    paths = {"global.*"}
    for key, default in (values or {}).items():
        paths.add(key)
        if key in subcharts or key in open_maps or default == {}:
            paths.add(f"{key}.*")
        elif isinstance(default, dict):
            paths.update(f"{key}.{child}" for child in default)
    return paths


COMMENTED_TOP = re.compile(r"^#\s?([A-Za-z_][\w-]*):(\s|$)")
COMMENTED_CHILD = re.compile(r"^  #\s?([A-Za-z_][\w-]*):(\s|$)")
TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*):")


def commented_paths(values_text: str) -> set[str]:
    """Optional values a chart documents as comments (``  # minAvailable: 1``)."""
    paths, top = set(), None
    for line in values_text.splitlines():
        if match := TOP_KEY.match(line):
            top = match[1]
        elif match := COMMENTED_TOP.match(line):
            paths.add(match[1])
        elif (match := COMMENTED_CHILD.match(line)) and top:
            paths.add(f"{top}.{match[1]}")
    return paths


def _resolve(schema: dict[str, Any], node: Any) -> dict[str, Any]:
    """``node`` with its local ``$ref`` (``#/$defs/...``) followed."""
    for _ in range(20):
        if not (isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/")):
            break
        target: Any = schema
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node if isinstance(node, dict) else {}


def schema_paths(schema: dict[str, Any]) -> set[str]:
    """The properties values.schema.json declares, two levels deep."""
    root = _resolve(schema, schema)
    paths = set()
    for key, spec in (root.get("properties") or {}).items():
        paths.add(key)
        paths.update(f"{key}.{child}" for child in _resolve(schema, spec).get("properties") or {})
    return paths


TEMPLATE_VALUE = re.compile(r"\.Values\.([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?")
TEMPLATE_HAS_KEY = re.compile(r'hasKey\s+\$?\.Values\.([A-Za-z_]\w*)\s+"([A-Za-z_]\w*)"')


def template_paths(templates: list[str]) -> set[str]:
    """The values the templates read (``.Values.a.b``, ``hasKey .Values.a "b"``)."""
    paths = set()
    for text in templates:
        for pattern in (TEMPLATE_VALUE, TEMPLATE_HAS_KEY):
            for top, child in pattern.findall(text):
                paths.add(top)
                if child:
                    paths.add(f"{top}.{child}")
    return paths


def schema_open_maps(schema: dict[str, Any]) -> frozenset[str]:
    """Top-level maps whose keys the schema leaves free (additionalProperties not false)."""
    properties = _resolve(schema, schema).get("properties") or {}
    resolved = {key: _resolve(schema, spec) for key, spec in properties.items()}
    return frozenset(
        key
        for key, spec in resolved.items()
        if spec.get("type") == "object" and spec.get("additionalProperties", True) is not False
    )


def chart_paths(chart: Chart, *, open_maps: frozenset[str] = frozenset()) -> list[str]:
    """Every value key the chart defines: set in values.yaml, documented there as a
    comment, declared by values.schema.json, or read by a template."""
    paths = key_paths(chart.values, subcharts=subchart_keys(chart.chart), open_maps=open_maps)
    paths |= commented_paths(chart.values_text) | schema_paths(chart.schema)
    paths |= template_paths(chart.templates)
    return sorted(paths)


def subchart_keys(chart_yaml: dict[str, Any]) -> frozenset[str]:
    """The value keys that belong to subcharts: each dependency's alias, or its name."""
    dependencies = (chart_yaml or {}).get("dependencies") or []
    return frozenset(d.get("alias") or d["name"] for d in dependencies)


def read_chart(chart_dir: str | Path, git: str | None = None, rev: str | None = None) -> Chart:
    """A chart directory, or ``chart_dir`` at ``rev`` in the git repository ``git``."""

    def run(*args: str) -> str | None:
        done = subprocess.run(["git", "-C", str(git), *args], capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else None

    def read(name: str) -> str | None:
        if git is None:
            path = Path(chart_dir) / name
            return path.read_text(encoding="utf-8") if path.is_file() else None
        return run("show", f"{rev}:{chart_dir}/{name}")

    if git is None:
        names = [
            str(p.relative_to(chart_dir))
            for p in sorted(Path(chart_dir, "templates").rglob("*"))
            if p.is_file()
        ]
    else:
        listed = run("ls-tree", "-r", "--name-only", str(rev), f"{chart_dir}/templates/") or ""
        names = [line.removeprefix(f"{chart_dir}/") for line in listed.splitlines()]
    values_text = read("values.yaml")
    if values_text is None:
        raise SystemExit(f"no values.yaml in {chart_dir}" + (f" at {rev}" if rev else ""))
    chart_text = read("Chart.yaml") or read("Chart.template.yaml") or "{}"
    return Chart(
        values=yaml.safe_load(values_text) or {},
        values_text=values_text,
        chart=yaml.safe_load(chart_text) or {},
        schema=json.loads(read("values.schema.json") or "{}"),
        templates=[read(name) or "" for name in names],
    )


def git_show(rev: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", str(HERE), "show", f"{rev}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def write_pre_fix(rev: str = PRE_FIX_COMMIT) -> None:
    """Rewrite pre_fix/: each stack's listed resources and its backend, the workflows'
    credential steps, all as recorded at ``rev``."""
    for stack, wanted in PRE_FIX.items():
        snapshot = f"tests/__snapshots__/test_synthesized/test_snapshot[{stack}].json"
        full = json.loads(git_show(rev, snapshot))
        fragment = {
            "//": f"{snapshot} at {rev}, trimmed by tests/apply_rules/extract.py --pre-fix",
            "terraform": {"backend": full["terraform"]["backend"]},
            "resource": {
                kind: {name: full["resource"][kind][name] for name in names}
                for kind, names in wanted.items()
            },
        }
        target = PRE_FIX_DIR / f"{stack}.json"
        target.write_text(json.dumps(fragment, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for workflow in WORKFLOWS:
        full = yaml.safe_load(git_show(rev, f".github/workflows/{workflow}"))
        jobs = {
            name: {"steps": steps}
            for name, job in full["jobs"].items()
            if (
                steps := [
                    s for s in job.get("steps", []) if CREDENTIALS_ACTION in s.get("uses", "")
                ]
            )
        }
        header = f"# .github/workflows/{workflow} at {rev}: its AWS credential steps only.\n"
        text = header + yaml.safe_dump({"jobs": jobs}, sort_keys=False)
        (PRE_FIX_DIR / "workflows" / workflow).write_text(text, encoding="utf-8")


def render(paths: list[str], header: list[str]) -> str:
    return "".join(f"# {line}\n" for line in header) + "".join(f"{p}\n" for p in paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "chart_dir", nargs="?", help="chart directory (in the repository with --git)"
    )
    parser.add_argument("--pre-fix", action="store_true", help="rewrite pre_fix/ instead")
    parser.add_argument("--git", nargs=2, metavar=("REPOSITORY", "REV"))
    parser.add_argument("--source", help="where the chart comes from (header)")
    parser.add_argument("--open", action="append", default=[], help="a map whose keys are free")
    parser.add_argument("--version", help="the chart version, if Chart.yaml does not say")
    parser.add_argument("--name", help="the chart name, if Chart.yaml does not say")
    parser.add_argument("--write", action="store_true", help="write chart_values/<name>-<ver>.txt")
    args = parser.parse_args(argv)
    if args.pre_fix:
        write_pre_fix()
        return 0
    if not args.chart_dir or not args.source:
        parser.error("a chart directory and --source are required")

    git, rev = args.git or (None, None)
    chart = read_chart(args.chart_dir, git, rev)
    name = args.name or chart.chart.get("name")
    version = args.version or chart.chart.get("version")
    if not name or not version or "{" in str(version):
        raise SystemExit("Chart.yaml names no chart or version: pass --name/--version")
    paths = chart_paths(chart, open_maps=frozenset(args.open))
    where = f"{args.source} @ {rev}, {args.chart_dir}/values.yaml" if git else args.source
    command = ["python", "-m", "tests.apply_rules.extract", args.chart_dir]
    if git:
        command += ["--git", "<a clone of the source>", rev]
    command += ["--source", args.source, *(f"--open={key}" for key in args.open)]
    command += [
        f"--{flag}={getattr(args, flag)}" for flag in ("name", "version") if getattr(args, flag)
    ]
    command.append("--write")
    text = render(
        paths,
        [
            f"{name} {version}: the chart's value keys, two levels deep (values.yaml, its "
            "comments, values.schema.json, templates).",
            f"source: {where}",
            f"regenerate: {shlex.join(command)}",
            "key = a value; key.child = one level down; key.* = a map whose keys are free.",
        ],
    )
    if args.write:
        target = CHART_VALUES_DIR / f"{name}-{version}.txt"
        target.write_text(text, encoding="utf-8")
        print(target)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
