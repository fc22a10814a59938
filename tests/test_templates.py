"""What every page prints, checked over the templates themselves: staff read times in Paris."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from ra_workbench.web.filters import day, paris, paris_date, utc

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PAGES = sorted(TEMPLATES.rglob("*.html"))
# A page formats a stored value itself: the database's UTC would reach the reader.
SELF_FORMATTED = re.compile(r"\.strftime\(|local_time\(")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_pages_print_times_through_the_paris_filters(page: Path) -> None:
    offending = [
        f"{page.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
        if SELF_FORMATTED.search(line)
    ]
    assert offending == [], "use |paris, |paris_date, |day or |utc (ra_workbench/web/filters.py)"


def test_a_winter_and_a_summer_moment_read_in_paris_time() -> None:
    winter = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 14, 22, 15, tzinfo=dt.UTC)
    assert paris(winter) == "03/12/2026 00:30"
    assert paris_date(winter) == "03/12/2026"  # already the next day in Paris
    assert paris(summer, "%H:%M") == "00:15"
    assert paris("2026-07-14T22:15:00+00:00") == "15/07/2026 00:15"
    assert paris(None) == "—"
    assert paris(None, empty="jamais") == "jamais"
    assert day(dt.date(1980, 2, 29)) == "29/02/1980"
    assert utc(winter) == "02/12/2026 23:30:00 UTC"
