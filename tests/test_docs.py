"""docs/decisions.md: every entry carries a status line that says whether it still
holds, since when, and which entries replaced or changed it (both ends named)."""

from __future__ import annotations

import datetime
import itertools
import re
from dataclasses import dataclass

import pytest

from tests.conftest import PROJECT_ROOT

DECISIONS = PROJECT_ROOT / "docs" / "decisions.md"

HEADING = re.compile(r"^## (\d+)\. \S.*$", flags=re.MULTILINE)
NUMBERS = r"\d+(?:, \d+)*"
STATUS = re.compile(
    r"Status: (?:active|superseded by (?P<superseded_by>\d+))"
    r" · (?P<date>\d{4}-\d{2}-\d{2})"
    rf"(?: · supersedes (?P<supersedes>{NUMBERS}))?"
    rf"(?: · amends (?P<amends>{NUMBERS}))?"
    rf"(?: · amended by (?P<amended_by>{NUMBERS}))?"
)
"""``Status: active · <date>`` or ``Status: superseded by N · <date>``, then the
optional ``· supersedes M, …``, ``· amends M, …``, ``· amended by N, …``, in that order."""


@dataclass(frozen=True)
class Entry:
    number: int
    date: datetime.date
    superseded_by: int | None
    supersedes: tuple[int, ...]
    amends: tuple[int, ...]
    amended_by: tuple[int, ...]


def _numbers(text: str | None) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split(", ")) if text else ()


def check(text: str, today: datetime.date) -> list[str]:
    """What is wrong with the entries of a decisions document (nothing: ``[]``)."""
    problems: list[str] = []
    headings = list(HEADING.finditer(text))
    if not headings:
        return ["no entries (## N. Title)"]
    entries: dict[int, Entry] = {}
    for position, heading in enumerate(headings):
        number = int(heading.group(1))
        if number != position + 1:
            problems.append(f"entry {number}: numbered out of sequence (expected {position + 1})")
        end = headings[position + 1].start() if position + 1 < len(headings) else len(text)
        body = text[heading.end() : end].strip()
        line = body.splitlines()[0] if body else ""
        status = STATUS.fullmatch(line)
        if status is None:
            problems.append(f"entry {number}: first line is not a status line: {line!r}")
            continue
        try:
            date = datetime.date.fromisoformat(status["date"])
        except ValueError:
            problems.append(f"entry {number}: {status['date']} is not a date")
            continue
        if date > today:
            problems.append(f"entry {number}: dated {date}, after today")
        entries[number] = Entry(
            number=number,
            date=date,
            superseded_by=int(status["superseded_by"]) if status["superseded_by"] else None,
            supersedes=_numbers(status["supersedes"]),
            amends=_numbers(status["amends"]),
            amended_by=_numbers(status["amended_by"]),
        )
    dated = sorted(entries.values(), key=lambda e: e.number)
    for earlier, later in itertools.pairwise(dated):
        if later.date < earlier.date:  # "Newest last"
            problems.append(
                f"entry {later.number}: dated {later.date}, before entry {earlier.number}"
            )
    for entry in dated:
        newer = [entry.superseded_by] if entry.superseded_by else []
        for label, targets, later in (
            ("superseded by", newer, True),
            ("supersedes", entry.supersedes, False),
            ("amends", entry.amends, False),
            ("amended by", entry.amended_by, True),
        ):
            for target in targets:
                if target not in entries:
                    problems.append(f"entry {entry.number}: {label} {target}: no such entry")
                elif (target > entry.number) != later:
                    side = "a later" if later else "an earlier"
                    problems.append(f"entry {entry.number}: {label} {target}: not {side} entry")
        newest = entries.get(entry.superseded_by or 0)
        if newest is not None and entry.number not in newest.supersedes:
            problems.append(f"entry {newest.number} does not say `supersedes {entry.number}`")
        for old in entry.supersedes:
            if old in entries and entries[old].superseded_by != entry.number:
                problems.append(f"entry {old} is not `superseded by {entry.number}`")
        for old in entry.amends:
            if old in entries and entry.number not in entries[old].amended_by:
                problems.append(f"entry {old} does not say `amended by {entry.number}`")
        for new in entry.amended_by:
            if new in entries and entry.number not in entries[new].amends:
                problems.append(f"entry {new} does not say `amends {entry.number}`")
    return problems


def test_every_decision_has_a_status_and_both_ends_of_each_link() -> None:
    text = DECISIONS.read_text(encoding="utf-8")
    assert check(text, datetime.date.today()) == []
    # The note explaining the line is at the top, before the first entry.
    assert "Status: active · <date>" in text[: HEADING.search(text).start()]


def _document(*entries: str) -> str:
    return "# Decisions\n\n" + "".join(f"{entry}\n\nWhy.\n\n" for entry in entries)


TODAY = datetime.date(2026, 11, 30)
GOOD = _document(
    "## 1. First\n\nStatus: superseded by 3 · 2026-11-28 · amended by 2",
    "## 2. Second\n\nStatus: active · 2026-11-28 · amends 1",
    "## 3. Third\n\nStatus: active · 2026-11-30 · supersedes 1",
)


def test_a_well_formed_document_passes() -> None:
    assert check(GOOD, TODAY) == []


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (_document("## 1. A\n\nWhy first."), "entry 1: first line is not a status line"),
        (_document("## 1. A\n\nStatus: active"), "entry 1: first line is not a status line"),
        (_document("## 1. A\n\nStatus: gone · 2026-11-28"), "first line is not a status line"),
        (_document("## 1. A\n\nStatus: active · 2026-02-30"), "2026-02-30 is not a date"),
        (_document("## 1. A\n\nStatus: active · 2027-01-01"), "dated 2027-01-01, after today"),
        (
            _document(
                "## 1. A\n\nStatus: active · 2026-11-28", "## 3. C\n\nStatus: active · 2026-11-28"
            ),
            "entry 3: numbered out of sequence (expected 2)",
        ),
        (
            _document(
                "## 1. A\n\nStatus: active · 2026-11-30", "## 2. B\n\nStatus: active · 2026-11-28"
            ),
            "entry 2: dated 2026-11-28, before entry 1",
        ),
        (
            _document("## 1. A\n\nStatus: superseded by 2 · 2026-11-28"),
            "entry 1: superseded by 2: no such entry",
        ),
        (
            _document(
                "## 1. A\n\nStatus: active · 2026-11-28 · supersedes 2",
                "## 2. B\n\nStatus: superseded by 1 · 2026-11-28",
            ),
            "entry 2: superseded by 1: not a later entry",
        ),
        (
            _document(
                "## 1. A\n\nStatus: superseded by 2 · 2026-11-28",
                "## 2. B\n\nStatus: active · 2026-11-28",
            ),
            "entry 2 does not say `supersedes 1`",
        ),
        (
            _document(
                "## 1. A\n\nStatus: active · 2026-11-28",
                "## 2. B\n\nStatus: active · 2026-11-28 · supersedes 1",
            ),
            "entry 1 is not `superseded by 2`",
        ),
        (
            _document(
                "## 1. A\n\nStatus: active · 2026-11-28",
                "## 2. B\n\nStatus: active · 2026-11-28 · amends 1",
            ),
            "entry 1 does not say `amended by 2`",
        ),
        (
            _document(
                "## 1. A\n\nStatus: active · 2026-11-28 · amended by 2",
                "## 2. B\n\nStatus: active · 2026-11-28",
            ),
            "entry 2 does not say `amends 1`",
        ),
    ],
)
def test_each_defect_is_reported(document: str, problem: str) -> None:
    assert any(problem in found for found in check(document, TODAY)), check(document, TODAY)
