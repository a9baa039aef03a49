"""New-arrival matching (domain.sdi): case, width and kana folding; conditions; schedule."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ils_gateway.domain.sdi import (
    ArrivalWindow,
    NewArrival,
    SdiCondition,
    SdiSchedule,
    condition_matches,
    fold,
    matches_for,
    run_is_due,
)
from ils_gateway.domain.vocab import MaterialType

TOKYO = ZoneInfo("Asia/Tokyo")
AT = datetime(2025, 5, 30, 10, tzinfo=TOKYO)

SOSEKI = NewArrival(
    "63",
    "夏目漱石全集 第1巻",
    AT,
    authors=("夏目漱石",),
    subjects=("日本文学", "全集"),
    material_type=MaterialType.BOOK,
    readings=("ナツメ ソウセキ ゼンシュウ", "ナツメ ソウセキ"),
)
PYTHON = NewArrival(
    "64",
    "ＰＹＴＨＯＮではじめるデータ分析",
    AT,
    authors=("山田太郎",),
    subjects=("プログラミング",),
    material_type=MaterialType.BOOK,
)
JAZZ = NewArrival("65", "ジャズ名盤ベスト50", AT, ("ﾐﾄﾞﾘ ｼﾞｬｽﾞ",), ("ジャズ",), MaterialType.CD)


def cond(**fields: object) -> SdiCondition:
    return SdiCondition("c1", "test", AT, **fields)  # type: ignore[arg-type]


def test_fold_normalises_width_kana_case_and_spaces() -> None:
    assert fold("ＰＹＴＨＯＮ") == fold("python") == "python"
    assert fold("ﾅﾂﾒ ｿｳｾｷ") == fold("なつめ　そうせき") == fold("ナツメ・ソウセキ")
    assert fold("ヴァイオリン") == "ゔぁいおりん"
    assert fold("Ｒｅａｄｉｎｇ　Ｌｉｓｔ") == "readinglist"


@pytest.mark.parametrize(
    ("fields", "arrival", "hit"),
    [
        ({"author": "なつめ"}, SOSEKI, True),  # hiragana finds the katakana reading
        ({"author": "ﾅﾂﾒ ｿｳｾｷ"}, SOSEKI, True),  # half-width katakana with a space
        ({"author": "夏目 漱石"}, SOSEKI, True),  # the name with a space
        ({"author": "芥川"}, SOSEKI, False),
        ({"title_words": "python データ"}, PYTHON, True),  # full-width title, every word
        ({"title_words": "python 統計"}, PYTHON, False),  # one word missing
        ({"title_words": "ぜんしゅう"}, SOSEKI, True),  # the title's reading
        ({"subject": "日本文学"}, SOSEKI, True),
        ({"subject": "ジャズ"}, SOSEKI, False),
        ({"material_type": MaterialType.CD}, JAZZ, True),
        ({"material_type": MaterialType.CD}, SOSEKI, False),
        ({"author": "みどり", "material_type": MaterialType.CD}, JAZZ, True),
        ({"author": "みどり", "material_type": MaterialType.DVD}, JAZZ, False),  # all must hold
        ({}, SOSEKI, False),  # an empty condition matches nothing
        ({"author": "   "}, SOSEKI, False),  # nor one of spaces only
    ],
)
def test_condition_matching(fields: dict[str, object], arrival: NewArrival, hit: bool) -> None:
    assert condition_matches(cond(**fields), arrival) is hit


def test_matches_for_lists_each_arrival_once_in_order() -> None:
    conditions = [cond(author="夏目"), cond(subject="全集"), cond(title_words="ｊａｚｚ")]
    assert matches_for(conditions, [JAZZ, SOSEKI, PYTHON]) == [SOSEKI]
    assert matches_for([cond(subject="じゃず")], [JAZZ]) == [JAZZ]
    assert matches_for([], [JAZZ]) == []


def test_schedule_parse_and_latest_instant() -> None:
    sat = SdiSchedule.parse("sat 15:30")  # Akiruno: 毎週土曜日午後3時30分
    assert sat.describe() == "sat 15:30"
    saturday = datetime(2025, 5, 31, 15, 30, tzinfo=TOKYO)
    assert sat.latest(datetime(2025, 6, 2, 10, tzinfo=TOKYO), TOKYO) == saturday
    assert sat.latest(saturday, TOKYO) == saturday
    before = datetime(2025, 5, 31, 15, 29, tzinfo=TOKYO)
    assert sat.latest(before, TOKYO) == datetime(2025, 5, 24, 15, 30, tzinfo=TOKYO)
    assert SdiSchedule.parse("daily 06:00").weekdays == frozenset(range(7))
    assert SdiSchedule.parse("Mon,thu 6:05").describe() == "mon,thu 06:05"
    for bad in ("saturday 15:30", "sat 25:00", "sat", "15:30", ", 10:00"):
        with pytest.raises(ValueError, match="schedule"):
            SdiSchedule.parse(bad)


def test_run_is_due_once_per_scheduled_instant() -> None:
    sat = SdiSchedule.parse("sat 15:30")
    saturday = datetime(2025, 5, 31, 15, 30, tzinfo=TOKYO)
    assert run_is_due(sat, None, saturday, TOKYO)
    assert not run_is_due(sat, saturday, datetime(2025, 6, 6, 23, tzinfo=TOKYO), TOKYO)
    assert run_is_due(sat, saturday, datetime(2025, 6, 7, 15, 30, tzinfo=TOKYO), TOKYO)


def test_window_days_leave_the_run_day_to_the_next_run() -> None:
    since = datetime(2025, 5, 24, 15, 30, tzinfo=TOKYO)
    until = datetime(2025, 5, 31, 15, 30, tzinfo=TOKYO)
    window = ArrivalWindow(since, until, TOKYO)
    assert (window.first_day, window.end_day) == (date(2025, 5, 24), date(2025, 5, 31))
    assert window.contains_day(date(2025, 5, 30)) and not window.contains_day(date(2025, 5, 31))
    following = ArrivalWindow(until, datetime(2025, 6, 7, 15, 30, tzinfo=TOKYO), TOKYO)
    assert following.contains_day(date(2025, 5, 31))  # covered exactly once
    assert window.midnight(date(2025, 5, 30)) == datetime.combine(date(2025, 5, 30), time(0), TOKYO)
