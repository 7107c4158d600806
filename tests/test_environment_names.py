"""No test module names an environment: the suite runs over whatever config/ holds.

Tests ask for ``env_name`` (tests/conftest.py parametrizes it over every
environment of config/), read a value from that environment's config
(``config.stack_prefix``, ``config.dns.domain`` …) or pick an environment by what
its config says (a delegated zone, a read replica), so adding a third
environment needs no test edits. This module is the grep that proves it: no
Python file under tests/ holds an environment name of config/ in a string
literal, whole (``"<env>"``) or as a part of a name (``kreo-<env>-data``,
``kreo/<env>/``, ``<env>.yaml``, ``ENV=<env>``, ``<env>.kreo.com``). Comments
and docstrings are prose and are not scanned; recorded data (JSON, YAML,
snapshots) is not Python and is not scanned either.

The one exception is tests/test_seed.py: the seed deployment guide describes one
environment, and that module asserts the guide for it, in one place. A line
that must hold a name anyway (a pre-fix recording's spec, which names what a
past synthesis held) says why, with ``# names-environment: <reason>``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator, Sequence
from pathlib import Path

from kreo_infra.config.loader import DEFAULTS_FILE
from tests.conftest import CONFIG_DIR, ENVIRONMENT_NAMES

TESTS_DIR = Path(__file__).resolve().parent
EXEMPT = {TESTS_DIR / "test_seed.py"}
"""The seed's requirements, asserted for the environment it describes."""
EXCUSABLE = {TESTS_DIR / "apply_rules" / "extract.py"}
"""Where a line may be excused: the spec of the pre-fix recording (what was recorded)."""
PRAGMA = re.compile(r"#\s*names-environment:\s*(?P<reason>\S.*)$")


def _prose(tree: ast.AST) -> set[int]:
    """The ids of string constants that are statements of their own: docstrings, and
    the attribute docstrings under module constants."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def _excused_lines(source: str) -> set[int]:
    """Lines carrying a ``# names-environment: <reason>`` comment (a reason is required)."""
    return {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT and PRAGMA.search(token.string)
    }


def _pattern(names: Sequence[str]) -> re.Pattern[str]:
    """A name as a whole word of a string: delimited by anything but a letter or digit
    (``kreo-<env>-app``, ``kreo/<env>/``, ``deploy-role-<env>_role``), so a name inside
    a longer word does not count (``alpha`` in ``alphabet``)."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")


def _named(source: str, names: Sequence[str]) -> tuple[list[tuple[range, str]], set[int]]:
    """The string literals of ``source`` that hold one of ``names`` (the lines each spans,
    its text; f-strings count by their literal parts; docstrings left out), and the lines
    carrying an excuse. Raises SyntaxError."""
    tree = ast.parse(source)
    pattern = _pattern(names)
    prose = _prose(tree)
    literals = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
    ]
    named = [
        (range(node.lineno, (node.end_lineno or node.lineno) + 1), node.value)
        for node in sorted(literals, key=lambda n: (n.lineno, n.col_offset))
        if pattern.search(node.value)
    ]
    return named, _excused_lines(source)


def findings(source: str, names: Sequence[str], where: str = "<sample>") -> Iterator[str]:
    """``<where>:<line>: <literal>`` for every string literal of ``source`` that holds one
    of ``names``, excused lines left out."""
    try:
        named, excused = _named(source, names)
    except SyntaxError as error:
        yield f"{where}:{error.lineno}: does not parse ({error.msg}), so it cannot be checked"
        return
    for lines, value in named:
        if not excused.intersection(lines):
            yield f"{where}:{lines.start}: {value!r}"


def excuses(source: str, names: Sequence[str]) -> tuple[set[int], set[int]]:
    """``(used, stale)``: the excused lines of ``source`` that hold a name, and those that
    hold none (an excuse left behind)."""
    named, excused = _named(source, names)
    used = {line for lines, _ in named for line in lines if line in excused}
    return used, excused - used


def python_files() -> list[Path]:
    return sorted(p for p in TESTS_DIR.rglob("*.py") if p not in EXEMPT)


# --- the proof ------------------------------------------------------------------------------


def test_the_names_are_those_of_config() -> None:
    """What the scan looks for is every environment file of config/, as conftest reads it."""
    files = {p.stem for p in CONFIG_DIR.glob("*.yaml") if p.name != DEFAULTS_FILE}
    assert ENVIRONMENT_NAMES
    assert sorted(ENVIRONMENT_NAMES) == sorted(files)


def test_no_test_module_names_an_environment() -> None:
    """Ask for ``env_name``, or read the value from the environment's config."""
    files = python_files()
    assert TESTS_DIR / "conftest.py" in files
    assert Path(__file__).resolve() in files  # this module proves its point on itself too
    found = [
        finding
        for path in files
        for finding in findings(
            path.read_text(encoding="utf-8"),
            ENVIRONMENT_NAMES,
            str(path.relative_to(TESTS_DIR.parent)),
        )
    ]
    assert found == [], "environment names in tests:\n" + "\n".join(found)


def test_excuses_are_few_and_each_excuses_a_name() -> None:
    """``# names-environment:`` only where EXCUSABLE says, and only on a line it excuses."""
    misplaced, stale = [], []
    for path in python_files():
        used, left = excuses(path.read_text(encoding="utf-8"), ENVIRONMENT_NAMES)
        where = str(path.relative_to(TESTS_DIR.parent))
        if used and path not in EXCUSABLE:
            misplaced += [f"{where}:{line}" for line in sorted(used)]
        stale += [f"{where}:{line}" for line in sorted(left)]
    assert misplaced == [], "excused outside EXCUSABLE"
    assert stale == [], "excuses that excuse nothing"


# --- the scan bites -------------------------------------------------------------------------


def test_a_hard_coded_list_of_the_environments_is_found() -> None:
    sample = f"import pytest\n\n\n@pytest.fixture(params={ENVIRONMENT_NAMES!r})\ndef env(): ...\n"
    found = list(findings(sample, ENVIRONMENT_NAMES))
    assert found == [f"<sample>:4: {name!r}" for name in ENVIRONMENT_NAMES]


def test_a_name_inside_a_name_is_found() -> None:
    sample = (
        'STACK = "kreo-alpha-data"\n'
        'SECRET = f"kreo/alpha/{name}"\n'
        'FILE = "config/alpha.yaml"\n'
        'ROLE = "deploy-role-alpha_role_9184DB0F"\n'
        'DOMAIN = "alpha.kreo.com"\n'
        'COMMAND = "make deploy ENV=alpha STACK=edge"\n'
    )
    assert [f.split(":")[1] for f in findings(sample, ["alpha", "beta"])] == [
        "1", "2", "3", "4", "5", "6",
    ]  # fmt: skip


def test_prose_derived_names_and_lookalikes_are_not_found() -> None:
    sample = (
        '"""The alpha environment is described here, in prose."""\n'
        "# alpha's zone is delegated from the apex\n"
        'STACK = f"kreo-{config.name}-data"\n'
        '"""Nor in an attribute docstring: alpha."""\n'
        'OTHER = "alphabet, kreo-alphas-data, betamax"\n'
    )
    assert list(findings(sample, ["alpha", "beta"])) == []


def test_only_an_excused_line_with_a_reason_may_name_one() -> None:
    excused = 'RECORDED = "kreo-alpha-app"  # names-environment: recorded at commit 3871521\n'
    assert list(findings(excused, ["alpha"])) == []
    bare = 'RECORDED = "kreo-alpha-app"  # names-environment:\n'
    assert list(findings(bare, ["alpha"])) == ["<sample>:1: 'kreo-alpha-app'"]
    elsewhere = '# names-environment: a reason, on the wrong line\nRECORDED = "alpha"\n'
    assert list(findings(elsewhere, ["alpha"])) == ["<sample>:2: 'alpha'"]
    assert excuses(excused, ["alpha"]) == ({1}, set())
    assert excuses(elsewhere, ["alpha"]) == (set(), {1})


def test_a_file_that_does_not_parse_is_reported() -> None:
    (finding,) = findings("def broken(:\n", ["alpha"])
    assert finding.startswith("<sample>:1: does not parse")
