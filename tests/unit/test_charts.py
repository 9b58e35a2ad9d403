"""The chart renderer (values in, PNG bytes out) and the run trend it draws from."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from bot.charts import (
    FAILURES,
    MAX_ALT,
    PIXELS,
    PROPOSED,
    SELL_NOW,
    png_size,
    threshold_chart,
    trend_chart,
)
from sync.api import RunRecord, RunTrend, ThresholdImpact, daily_trend
from sync.usecases.threshold import ImpactRow
from sync.usecases.trend import TrendDay

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TODAY = date(2026, 12, 7)
FIRST = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # the first of the 14 days ending TODAY


def impact(current: int = 50, proposed: int | None = None, *, bump: int = 0) -> ThresholdImpact:
    rows = [
        ImpactRow(t, q + bump, q + bump - tomb)
        for t, q, tomb in [(30, 612, 9), (40, 488, 7), (45, 401, 5), (50, 322, 4), (55, 240, 3)]
    ]
    return ThresholdImpact(
        current=current,
        proposed=proposed,
        members=1240,
        scored=1100,
        linked=310,
        tombstoned=12,
        rows=rows,
        as_of=datetime(2026, 12, 7, 6, 0, tzinfo=UTC),
    )


def run(i: int, at: datetime, *, status: str = "ok", **counts: int) -> RunRecord:
    return RunRecord(i, at, at + timedelta(seconds=20), "schedule", status, counts)


def trend(failing_day: int = 3) -> RunTrend:
    runs: list[RunRecord] = []
    for d in range(14):
        day = datetime(2026, 11, 24, 8, 0, tzinfo=UTC) + timedelta(days=d)
        for k in range(1 + d % 4):
            runs.append(run(len(runs) + 1, day + timedelta(hours=k), updated_sell=3 + k))
        if d == failing_day:
            runs.append(run(len(runs) + 1, day + timedelta(hours=9), status="failed"))
    return daily_trend(runs, today=TODAY)


def chunks(png: bytes) -> list[bytes]:
    """The chunk types of a PNG, in order."""
    out, at = [], len(PNG_SIGNATURE)
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        out.append(png[at + 4 : at + 8])
        at += 12 + length
    return out


def pixels(png: bytes) -> np.ndarray:
    return imread(io.BytesIO(png), format="png")[:, :, :3]


def has_colour(png: bytes, colour: str) -> bool:
    want = np.array(to_rgb(colour))
    return bool((np.abs(pixels(png) - want).max(axis=2) < 0.01).any())


@pytest.mark.parametrize(
    "render", [lambda: threshold_chart(impact()), lambda: trend_chart(trend())]
)
def test_charts_are_pngs_of_the_fixed_pixel_size_with_real_content(render: object) -> None:
    chart = render()  # type: ignore[operator]
    assert chart.png.startswith(PNG_SIGNATURE)
    assert png_size(chart.png) == PIXELS == (960, 540)
    assert chart.filename.endswith(".png")
    image = pixels(chart.png)
    assert image.shape == (540, 960, 3)
    # not a blank canvas: many colours (bars, anti-aliased text), and most of it still white
    colours = {tuple(p) for p in (image.reshape(-1, 3) * 255).astype(int)[::7]}
    assert len(colours) > 50
    white = (image > 0.98).all(axis=2).mean()
    assert 0.4 < white < 0.97


def test_charts_are_deterministic_and_carry_no_metadata() -> None:
    first, again = threshold_chart(impact()), threshold_chart(impact())
    assert first.png == again.png
    assert trend_chart(trend()).png == trend_chart(trend()).png
    # other values, other picture
    assert threshold_chart(impact(bump=40)).png != first.png
    kinds = chunks(first.png)
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(kinds)  # no software, no date


def test_the_threshold_in_force_and_the_proposed_one_are_drawn_apart() -> None:
    plain = threshold_chart(impact(current=50))
    assert has_colour(plain.png, SELL_NOW)
    assert not has_colour(plain.png, PROPOSED)
    proposed = threshold_chart(impact(current=50, proposed=40))
    assert has_colour(proposed.png, SELL_NOW) and has_colour(proposed.png, PROPOSED)


def test_failures_show_in_the_trend_only_when_there_were_some() -> None:
    assert has_colour(trend_chart(trend()).png, FAILURES)
    quiet = daily_trend([run(1, datetime(2026, 12, 6, 9, tzinfo=UTC), updated_sell=2)], today=TODAY)
    # the legend keeps its swatch: compare the amount of red instead
    red = np.array(to_rgb(FAILURES))

    def red_pixels(png: bytes) -> int:
        return int((np.abs(pixels(png) - red).max(axis=2) < 0.01).sum())

    assert red_pixels(trend_chart(quiet).png) < red_pixels(trend_chart(trend()).png)


def test_alt_text_says_the_numbers_and_stays_within_slacks_limit() -> None:
    alt = threshold_chart(impact(current=50, proposed=40)).alt
    assert "50 (current): 318" in alt and "40 (proposed): 481" in alt
    assert "1,240 list members" in alt and "310 already linked" in alt
    t = trend()
    alt = trend_chart(t).alt
    assert t.failures == 1
    assert f"{t.runs:,} runs" in alt and "1 failure in all" in alt and "0 failures" in alt
    many = RunTrend(
        tuple(TrendDay(TODAY - timedelta(days=i), 99_999, 99_999, 99_999) for i in range(400))
    )
    assert len(trend_chart(many).alt) <= MAX_ALT


def test_trend_buckets_runs_by_utc_day_over_fourteen_days() -> None:
    runs = [
        run(1, datetime(2026, 12, 7, 0, 5, tzinfo=UTC), created_in_sell=2, updated_hubspot=1),
        run(2, datetime(2026, 12, 6, 23, 55, tzinfo=UTC), status="failed"),
        run(3, datetime(2026, 12, 6, 12, 0, tzinfo=UTC), status="errors", updated_sell=4, error=2),
        RunRecord(4, FIRST, FIRST, "schedule", "ok", {"merged": 1, "skipped:below": 9}),
        run(5, datetime(2026, 11, 23, 23, 59, tzinfo=UTC), updated_sell=50),  # 15 days ago
        run(6, datetime(2026, 12, 7, 1, 0, tzinfo=UTC), conflict_opened=3),  # not a change
    ]
    got = daily_trend(runs, today=TODAY)
    assert len(got.days) == 14
    assert got.days[0].day == date(2026, 11, 24) and got.days[-1].day == TODAY
    by_day = {d.day: d for d in got.days}
    assert by_day[TODAY] == TrendDay(TODAY, runs=2, changes=3, failures=0)
    assert by_day[date(2026, 12, 6)] == TrendDay(date(2026, 12, 6), runs=2, changes=4, failures=3)
    assert by_day[date(2026, 11, 24)].changes == 1  # skips are not changes
    assert (got.runs, got.changes, got.failures) == (5, 8, 3)
    assert not got.empty
    assert daily_trend([], today=TODAY).empty


def test_png_size_refuses_what_is_not_a_png() -> None:
    with pytest.raises(ValueError):
        png_size(b"GIF89a" + bytes(30))
