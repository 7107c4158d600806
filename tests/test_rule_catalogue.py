"""The rule catalogue both rule suites use: what it reports as uncovered."""

from __future__ import annotations

from tests.rule_catalogue import Bite, Catalogue, bite_cases


def make() -> Catalogue[dict]:
    catalogue: Catalogue[dict] = Catalogue()

    @catalogue.rule
    def cited(view: dict) -> list[str]:
        """Cite: somewhere."""
        return []

    @catalogue.rule
    def uncited(view: dict) -> list[str]:
        return []

    return catalogue


def test_uncovered_names_every_gap() -> None:
    bites = {"cited": [Bite("pre-fix only")], "gone": [Bite("x", lambda view: None)]}
    assert make().uncovered(bites, derived=False) == [
        "uncited: no bite",
        "gone: a bite of no rule",
        "uncited: no Cite:",
    ]
    assert "cited: no derived bite" in make().uncovered(bites, derived=True)


def test_bite_cases_split_pre_fix_from_derived() -> None:
    derive = lambda view: None  # noqa: E731
    bites = {"b": [Bite("second", derive)], "a": [Bite("first")]}
    assert bite_cases(bites, derived=False)["argvalues"] == [("a", Bite("first"))]
    derived = bite_cases(bites, derived=True)
    assert derived["argvalues"] == [("b", Bite("second", derive))]
    assert derived["ids"] == ["b:second"]
