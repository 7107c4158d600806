"""What the apply-time and the runtime rules share: a rule registry, bites, and their checks.

A catalogue is a dict of rules (functions from a view of the deployment to its
violations, registered with :meth:`Catalogue.rule`) and, per rule, the
:class:`Bite` s that prove it reports the defect it exists for: on pre-fix
fragments (``derive`` None) or on a copy of the current view with the defect
put back (``derive``). tests/test_apply_rules.py and tests/test_runtime_rules.py
each keep one catalogue and parametrize their tests with :func:`bite_cases`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

View = TypeVar("View")


@dataclass(frozen=True)
class Bite(Generic[View]):
    """A violation the rule must report: on the pre-fix output, or on ``derive(copy)``."""

    expect: str
    derive: Callable[[View], None] | None = None


@dataclass
class Catalogue(Generic[View]):
    """Rules by name, registered by decorating them with :meth:`rule`."""

    rules: dict[str, Callable[[View], list[str]]] = field(default_factory=dict)

    def rule(self, function: Callable[[View], list[str]]) -> Callable[[View], list[str]]:
        self.rules[function.__name__] = function
        return function

    def uncovered(self, bites: dict[str, list[Bite[View]]], *, derived: bool) -> list[str]:
        """What keeps the catalogue honest: rules without a bite (``derived``: without a
        derived one), bites of no rule, and rules whose docstring has no ``Cite:``."""
        problems = [f"{n}: no bite" for n in self.rules if not bites.get(n)]
        problems += [f"{n}: a bite of no rule" for n in bites if n not in self.rules]
        if derived:
            problems += [
                f"{n}: no derived bite"
                for n in self.rules
                if not any(b.derive for b in bites.get(n, []))
            ]
        problems += [
            f"{n}: no Cite:" for n, f in self.rules.items() if "Cite:" not in (f.__doc__ or "")
        ]
        return problems


def bite_cases(bites: dict[str, list[Bite[Any]]], *, derived: bool) -> dict[str, Any]:
    """``pytest.mark.parametrize`` arguments for the pre-fix or the derived bites."""
    cases = [
        (name, bite)
        for name, rule_bites in sorted(bites.items())
        for bite in rule_bites
        if (bite.derive is not None) is derived
    ]
    return {
        "argnames": ("name", "bite"),
        "argvalues": cases,
        "ids": [f"{name}:{bite.expect[:40]}" for name, bite in cases],
    }
