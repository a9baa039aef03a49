"""Seeded Japanese sample data for the simulated ILS: みどり市立図書館, a fictional city library.

The dataset is built by *running the library's own operations* on a clock moved through the
past two months (checkouts, returns, holds, renewals, cancellations), so every loan and hold
is in a state the model itself would reach. Only what no operation creates is written
directly: the catalogue, patrons, fees, a purchase request under review and an order.

The same seed and reference time give the same dataset, byte for byte. The demo patrons
(fixed card numbers) and their situations do not depend on the seed; the seed decides copy
counts, the extra patrons' names and the everyday circulation around them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ils_gateway.domain.clock import ManualClock
from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.outcomes import HoldView, LoanView, Refusal
from ils_gateway.simulators.policy import HoldState, HouseRules, ItemType
from ils_gateway.simulators.records import (
    Biblio,
    Branch,
    BranchKind,
    ContactMethod,
    Fee,
    FeeKind,
    Hold,
    Item,
    ItemStatus,
    LibraryData,
    Patron,
    PatronCategory,
    Station,
)

# The reference time of the published demo data (a Monday morning).
SAMPLE_NOW = datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO)
DEFAULT_SEED = 20250602

BRANCHES = [
    Branch("CEN", "中央図書館"),
    Branch("KITA", "北図書館"),
    Branch("MINAMI", "南図書館"),
    Branch("EKI", "駅前分室"),
    Branch(
        "BM",
        "移動図書館みどり号",
        kind=BranchKind.BOOKMOBILE,
        pickup=False,
        stations=[
            Station("BM01", "市役所前ステーション", "第1・第3火曜 10:00-10:40"),
            Station("BM02", "緑ヶ丘団地ステーション", "第2・第4水曜 14:00-14:45"),
            Station("BM03", "桜台小学校ステーション", "毎週金曜 15:30-16:10"),
        ],
    ),
]
_SHELF_BRANCHES = ("CEN", "KITA", "MINAMI", "EKI")


@dataclass(frozen=True)
class _Title:
    key: str
    title: str
    author: str
    item_type: ItemType
    publisher: str
    year: int
    copies: tuple[int, int]  # (fewest, most) copies; the seed picks
    call: str  # call number stem (NDC class / author mark)
    series: str | None = None
    volume: int | None = None
    not_for_loan: bool = False
    interlibrary_from: str | None = None


def _t(
    key: str,
    title: str,
    author: str,
    kind: ItemType,
    pub: str,
    year: int,
    copies: tuple[int, int],
    call: str,
) -> _Title:
    return _Title(key, title, author, kind, pub, year, copies, call)


_SERIES = [
    _Title(
        f"hoshi{n}",
        f"星降る町の図書館 {n}",
        "月島あかり",
        ItemType.BOOK,
        "青葉書房",
        2022 + n // 3,
        (2, 3),
        "913.6/ツ",
        series="星降る町の図書館",
        volume=n,
    )
    for n in range(1, 7)
] + [
    _Title(
        f"rekishi{n}",
        f"日本の歴史 {n} {part}",
        "歴史教育研究会 編",
        ItemType.BOOK,
        "学びの森出版",
        2019,
        (2, 3),
        "210.1/ニ",
        series="日本の歴史",
        volume=n,
    )
    for n, part in enumerate(["旧石器から古墳", "飛鳥・奈良", "平安", "鎌倉・室町", "戦国"], 1)
]


@dataclass(frozen=True)
class _Arrival:
    """A title received recently (新着), with the reading (ヨミ) and subjects a catalogue keeps."""

    key: str
    title: str
    title_kana: str
    author: str
    author_kana: str
    item_type: ItemType
    publisher: str
    year: int
    subjects: tuple[str, ...]
    call: str
    days_ago: int  # received this many days before the dataset's day


# New arrivals (SDI): dates relative to the dataset's day, so a run "now" finds them. One title
# is written in full-width letters, as Japanese catalogues often do, to show width folding.
NEW_ARRIVALS: list[_Arrival] = [
    _Arrival("n_hoshi7", "星降る町の図書館 7", "ホシフル マチ ノ トショカン", "月島あかり",
             "ツキシマ アカリ", ItemType.BOOK, "青葉書房", 2025, ("小説", "日本文学"),
             "913.6/ツ", 2),
    _Arrival("n_soseki", "夏目漱石全集 第1巻", "ナツメ ソウセキ ゼンシュウ", "夏目漱石",
             "ナツメ ソウセキ", ItemType.BOOK, "岩波書店", 2025, ("日本文学", "全集"),
             "918.68/ナ", 3),
    _Arrival("n_python", "ＰＹＴＨＯＮではじめるデータ分析", "パイソン デ ハジメル データ ブンセキ",
             "山田太郎", "ヤマダ タロウ", ItemType.BOOK, "技術の森社", 2025,
             ("プログラミング", "データ分析"), "007.64/ヤ", 4),
    _Arrival("n_jazz", "ジャズ名盤ベスト50", "ジャズ メイバン ベスト ゴジュウ",
             "みどり市民ジャズ楽団", "ミドリ シミン ジャズ ガクダン", ItemType.CD,
             "みどりレコード", 2025,
             ("ジャズ", "音楽"), "764.7/ミ", 5),
    _Arrival("n_yodaka", "よだかの星", "ヨダカ ノ ホシ", "宮沢賢治", "ミヤザワ ケンジ",
             ItemType.PICTURE_BOOK, "こぐま社", 2025, ("絵本", "日本文学"), "E/ミ", 6),
    _Arrival("n_edo", "日本の歴史 6 江戸", "ニホン ノ レキシ", "歴史教育研究会 編",
             "レキシ キョウイク ケンキュウカイ", ItemType.BOOK, "学びの森出版", 2025,
             ("日本史", "江戸時代"), "210.5/ニ", 9),
    _Arrival("n_zekkei", "世界の絶景 映像の旅", "セカイ ノ ゼッケイ", "旅と映像編集部",
             "タビ ト エイゾウ ヘンシュウブ", ItemType.DVD, "みどり映像", 2025,
             ("旅行", "紀行"), "290.9/セ", 12),
    _Arrival("n_toshokan", "図書館のしごと", "トショカン ノ シゴト", "川村真理",
             "カワムラ マリ", ItemType.BOOK, "青葉書房", 2025, ("図書館",), "010/カ", 40),
]  # fmt: skip

CATALOGUE: list[_Title] = [
    _t("kokoro", "こころ", "夏目漱石", ItemType.BOOK, "岩波書店", 1989, (3, 4), "913.6/ナ"),
    _t("botchan", "坊っちゃん", "夏目漱石", ItemType.BOOK, "新潮社", 2003, (2, 4), "913.6/ナ"),
    _t("neko", "吾輩は猫である", "夏目漱石", ItemType.BOOK, "岩波書店", 1990, (2, 3), "913.6/ナ"),
    _t("rashomon", "羅生門・鼻", "芥川龍之介", ItemType.BOOK, "新潮社", 2005, (2, 3), "913.6/ア"),
    _t("ginga", "銀河鉄道の夜", "宮沢賢治", ItemType.BOOK, "角川書店", 1996, (2, 3), "913.6/ミ"),
    _t("chumon", "注文の多い料理店", "宮沢賢治", ItemType.BOOK, "新潮社", 1990, (2, 3), "913.6/ミ"),
    _t("shikkaku", "人間失格", "太宰治", ItemType.BOOK, "新潮社", 2006, (2, 4), "913.6/ダ"),
    _t("meros", "走れメロス", "太宰治", ItemType.BOOK, "新潮社", 2005, (2, 3), "913.6/ダ"),
    _t("takase", "高瀬舟", "森鴎外", ItemType.BOOK, "岩波書店", 2002, (1, 2), "913.6/モ"),
    _t("takekurabe", "たけくらべ", "樋口一葉", ItemType.BOOK, "集英社", 1993, (1, 2), "913.6/ヒ"),
    _t("yukiguni", "雪国", "川端康成", ItemType.BOOK, "新潮社", 2006, (2, 3), "913.6/カ"),
    _t("sasameyuki", "細雪", "谷崎潤一郎", ItemType.BOOK, "中央公論新社", 1983, (1, 2), "913.6/タ"),
    _t("remon", "檸檬", "梶井基次郎", ItemType.BOOK, "新潮社", 2003, (1, 2), "913.6/カ"),
    _t("sangetsuki", "山月記・李陵", "中島敦", ItemType.BOOK, "岩波書店", 1994, (1, 2), "913.6/ナ"),
    _t("kazetachinu", "風立ちぬ", "堀辰雄", ItemType.BOOK, "新潮社", 2000, (1, 2), "913.6/ホ"),
    _t("yoake", "夜明け前 第一部", "島崎藤村", ItemType.BOOK, "岩波書店", 2003, (1, 2), "913.6/シ"),
    _t("midaregami", "みだれ髪", "与謝野晶子", ItemType.BOOK, "新潮社", 2000, (1, 2), "911.1/ヨ"),
    _t(
        "saien", "はじめての家庭菜園", "園田みどり", ItemType.BOOK, "緑風社", 2021, (2, 3), "626/ソ"
    ),
    _t(
        "shinkoku",
        "やさしい確定申告 2025年版",
        "税理士法人あおば",
        ItemType.BOOK,
        "実務出版",
        2024,
        (2, 3),
        "345.3/ヤ",
    ),
    _t(
        "shiro", "図解 日本の城", "城郭研究会 編", ItemType.BOOK, "山河社", 2020, (2, 3), "521.8/ズ"
    ),
    _t(
        "rogo",
        "老後のお金の教科書",
        "村上誠一",
        ItemType.BOOK,
        "暮らし出版",
        2023,
        (2, 4),
        "591/ム",
    ),
    _t(
        "kyoto",
        "京都 路地裏さんぽ",
        "旅の手帖編集部 編",
        ItemType.BOOK,
        "旅の手帖社",
        2022,
        (1, 2),
        "291.6/キ",
    ),
    _t(
        "python",
        "やさしいPython入門",
        "森田健",
        ItemType.BOOK,
        "技術出版",
        2024,
        (2, 3),
        "007.6/モ",
    ),
    _t(
        "minzoku",
        "みどり県の民俗",
        "みどり県民俗学会 編",
        ItemType.BOOK,
        "みどり県民俗学会",
        1998,
        (1, 1),
        "382.1/ミ",
    ),
    _t(
        "kabu",
        "おおきなかぶ",
        "ロシア民話 / 内田りさ 文",
        ItemType.PICTURE_BOOK,
        "福音館書店",
        1966,
        (3, 4),
        "E/オ",
    ),
    _t(
        "popo",
        "くまのこポポのさんぽ",
        "はやしみか",
        ItemType.PICTURE_BOOK,
        "こぐま社",
        2018,
        (2, 3),
        "E/ハ",
    ),
    _t(
        "harapeko",
        "はらぺこねずみのパンやさん",
        "いしだゆう",
        ItemType.PICTURE_BOOK,
        "ひかり書房",
        2020,
        (2, 3),
        "E/イ",
    ),
    _t(
        "kaiju",
        "かいじゅうのおるすばん",
        "たかぎなお",
        ItemType.PICTURE_BOOK,
        "童心社",
        2015,
        (2, 3),
        "E/タ",
    ),
    _t(
        "omusubi",
        "おむすびころりん",
        "日本の昔話 / 松谷よし 脚本",
        ItemType.KAMISHIBAI,
        "童心社",
        1985,
        (1, 2),
        "K/オ",
    ),
    _t(
        "kasajizo",
        "かさじぞう",
        "日本の昔話 / 松谷よし 脚本",
        ItemType.KAMISHIBAI,
        "童心社",
        1985,
        (1, 2),
        "K/カ",
    ),
    _t(
        "tsuru",
        "つるのおんがえし",
        "日本の昔話 / 堀尾せい 脚本",
        ItemType.KAMISHIBAI,
        "教育画劇",
        1990,
        (1, 2),
        "K/ツ",
    ),
    _t(
        "kurashi5",
        "暮らしと料理 2025年5月号",
        "暮らしと料理社",
        ItemType.MAGAZINE,
        "暮らしと料理社",
        2025,
        (1, 2),
        "Z/ク",
    ),
    _t(
        "engei5",
        "月刊 園芸ライフ 2025年5月号",
        "園芸ライフ社",
        ItemType.MAGAZINE,
        "園芸ライフ社",
        2025,
        (1, 2),
        "Z/エ",
    ),
    _t(
        "tetsudo5",
        "鉄道ファン通信 2025年5月号",
        "鉄道通信社",
        ItemType.MAGAZINE,
        "鉄道通信社",
        2025,
        (1, 1),
        "Z/テ",
    ),
    _t(
        "daiku",
        "ベートーヴェン 交響曲第9番「合唱」",
        "みどり市民フィルハーモニー管弦楽団",
        ItemType.CD,
        "みどりレコード",
        2015,
        (2, 3),
        "C/ベ",
    ),
    _t(
        "doyo",
        "日本の童謡 ベスト50",
        "ひばり児童合唱団",
        ItemType.CD,
        "こどもレコード",
        2012,
        (2, 3),
        "C/ニ",
    ),
    _t(
        "chopin",
        "ショパン ノクターン全集",
        "小野寺玲子 (ピアノ)",
        ItemType.CD,
        "クラシカ",
        2010,
        (1, 2),
        "C/シ",
    ),
    _t("samurai", "七人の侍", "黒澤明 監督", ItemType.DVD, "東宝", 2002, (2, 3), "D/シ"),
    _t("tokyo", "東京物語", "小津安二郎 監督", ItemType.DVD, "松竹", 2003, (1, 2), "D/ト"),
    _t(
        "isan",
        "日本の世界遺産 映像紀行",
        "映像紀行制作委員会",
        ItemType.DVD,
        "学びの森出版",
        2018,
        (1, 2),
        "D/ニ",
    ),
    _t(
        "rodoku",
        "朗読 坊っちゃん",
        "夏目漱石 作 / 朗読 森山静香",
        ItemType.CASSETTE,
        "朗読の会",
        1995,
        (1, 2),
        "T/ナ",
    ),
    _t(
        "eikaiwa",
        "英会話 はじめの一歩",
        "中井マリ",
        ItemType.CASSETTE,
        "語学社",
        1992,
        (1, 2),
        "T/ナ",
    ),
    _t(
        "namiura",
        "神奈川沖浪裏 (複製)",
        "葛飾北斎",
        ItemType.ART,
        "美術複製工房",
        2001,
        (1, 1),
        "A/カ",
    ),
    _t(
        "himawari",
        "ひまわり (複製)",
        "フィンセント・ファン・ゴッホ",
        ItemType.ART,
        "美術複製工房",
        2001,
        (1, 1),
        "A/ゴ",
    ),
    _t(
        "mikaeri",
        "見返り美人図 (複製)",
        "菱川師宣",
        ItemType.ART,
        "美術複製工房",
        2003,
        (1, 1),
        "A/ヒ",
    ),
    _t(
        "kojien", "広辞苑 第七版", "新村出 編", ItemType.BOOK, "岩波書店", 2018, (2, 3), "R813.1/シ"
    ),
    _t(
        "nikkoku",
        "日本国語大辞典 第1巻",
        "日本国語大辞典第二版編集委員会 編",
        ItemType.BOOK,
        "小学館",
        2000,
        (1, 1),
        "R813.1/ニ",
    ),
    _t(
        "chizu",
        "みどり県 詳細地図帳",
        "地図出版 編",
        ItemType.BOOK,
        "地図出版",
        2024,
        (1, 2),
        "R291/ミ",
    ),
    _t("kotoba", "ことばの森", "葉山しおり", ItemType.BOOK, "青葉書房", 2025, (1, 1), "913.6/ハ"),
    *_SERIES,
]
# Readings (ヨミ) of every title and author, in katakana as Japanese catalogues record them:
# what a search in kana matches (むらかみ finds 村上誠一 through ムラカミ セイイチ).
READINGS: dict[str, tuple[str, str]] = {
    "kokoro": ("ココロ", "ナツメ ソウセキ"),
    "botchan": ("ボッチャン", "ナツメ ソウセキ"),
    "neko": ("ワガハイ ワ ネコ デアル", "ナツメ ソウセキ"),
    "rashomon": ("ラショウモン ハナ", "アクタガワ リュウノスケ"),
    "ginga": ("ギンガ テツドウ ノ ヨル", "ミヤザワ ケンジ"),
    "chumon": ("チュウモン ノ オオイ リョウリテン", "ミヤザワ ケンジ"),
    "shikkaku": ("ニンゲン シッカク", "ダザイ オサム"),
    "meros": ("ハシレ メロス", "ダザイ オサム"),
    "takase": ("タカセブネ", "モリ オウガイ"),
    "takekurabe": ("タケクラベ", "ヒグチ イチヨウ"),
    "yukiguni": ("ユキグニ", "カワバタ ヤスナリ"),
    "sasameyuki": ("ササメユキ", "タニザキ ジュンイチロウ"),
    "remon": ("レモン", "カジイ モトジロウ"),
    "sangetsuki": ("サンゲツキ リリョウ", "ナカジマ アツシ"),
    "kazetachinu": ("カゼ タチヌ", "ホリ タツオ"),
    "yoake": ("ヨアケ マエ ダイイチブ", "シマザキ トウソン"),
    "midaregami": ("ミダレガミ", "ヨサノ アキコ"),
    "saien": ("ハジメテ ノ カテイ サイエン", "ソノダ ミドリ"),
    "shinkoku": ("ヤサシイ カクテイ シンコク", "ゼイリシ ホウジン アオバ"),
    "shiro": ("ズカイ ニホン ノ シロ", "ジョウカク ケンキュウカイ"),
    "rogo": ("ロウゴ ノ オカネ ノ キョウカショ", "ムラカミ セイイチ"),
    "kyoto": ("キョウト ロジウラ サンポ", "タビ ノ テチョウ ヘンシュウブ"),
    "python": ("ヤサシイ パイソン ニュウモン", "モリタ ケン"),
    "minzoku": ("ミドリケン ノ ミンゾク", "ミドリケン ミンゾク ガッカイ"),
    "kabu": ("オオキナ カブ", "ウチダ リサ"),
    "popo": ("クマノコ ポポ ノ サンポ", "ハヤシ ミカ"),
    "harapeko": ("ハラペコ ネズミ ノ パンヤサン", "イシダ ユウ"),
    "kaiju": ("カイジュウ ノ オルスバン", "タカギ ナオ"),
    "omusubi": ("オムスビ コロリン", "マツタニ ヨシ"),
    "kasajizo": ("カサジゾウ", "マツタニ ヨシ"),
    "tsuru": ("ツル ノ オンガエシ", "ホリオ セイ"),
    "kurashi5": ("クラシ ト リョウリ", "クラシ ト リョウリシャ"),
    "engei5": ("ゲッカン エンゲイ ライフ", "エンゲイ ライフシャ"),
    "tetsudo5": ("テツドウ ファン ツウシン", "テツドウ ツウシンシャ"),
    "daiku": ("コウキョウキョク ダイキュウバン ガッショウ", "ミドリ シミン フィルハーモニー"),
    "doyo": ("ニホン ノ ドウヨウ ベスト ゴジュウ", "ヒバリ ジドウ ガッショウダン"),
    "chopin": ("ショパン ノクターン ゼンシュウ", "オノデラ レイコ"),
    "samurai": ("シチニン ノ サムライ", "クロサワ アキラ"),
    "tokyo": ("トウキョウ モノガタリ", "オヅ ヤスジロウ"),
    "isan": ("ニホン ノ セカイ イサン エイゾウ キコウ", "エイゾウ キコウ セイサク イインカイ"),
    "rodoku": ("ロウドク ボッチャン", "ナツメ ソウセキ"),
    "eikaiwa": ("エイカイワ ハジメ ノ イッポ", "ナカイ マリ"),
    "namiura": ("カナガワオキ ナミウラ", "カツシカ ホクサイ"),
    "himawari": ("ヒマワリ", "ファン ゴッホ"),
    "mikaeri": ("ミカエリ ビジンズ", "ヒシカワ モロノブ"),
    "kojien": ("コウジエン", "シンムラ イズル"),
    "nikkoku": ("ニホン コクゴ ダイジテン", "ニホン コクゴ ダイジテン ヘンシュウ イインカイ"),
    "chizu": ("ミドリケン ショウサイ チズチョウ", "チズ シュッパン"),
    "kotoba": ("コトバ ノ モリ", "ハヤマ シオリ"),
    **{f"hoshi{n}": (f"ホシフル マチ ノ トショカン {n}", "ツキシマ アカリ") for n in range(1, 7)},
    **{
        f"rekishi{n}": (f"ニホン ノ レキシ {n}", "レキシ キョウイク ケンキュウカイ")
        for n in range(1, 6)
    },
}
# Media without an ISBN (sound and video recordings, art reproductions, magazines: ISSN/JAN).
_NO_ISBN = {ItemType.CD, ItemType.DVD, ItemType.CASSETTE, ItemType.ART, ItemType.MAGAZINE}


def sample_isbn(biblio_id: int) -> str:
    """A valid ISBN-13 for sample record ``biblio_id`` (978-4-9…: a fictional publisher)."""
    stem = f"97849{biblio_id:07d}"
    total = sum(int(d) * (3 if n % 2 else 1) for n, d in enumerate(stem))
    return stem + str((10 - total % 10) % 10)


# Reference works (禁帯出), an inter-library loan and an order not yet received.
_REFERENCE = {"kojien", "nikkoku", "chizu"}
_INTERLIBRARY = {"minzoku": "みどり県立図書館"}
_ON_ORDER = {"kotoba"}
_SUGGESTION = ("AIと図書館の未来", "司書ラボ 編", "新刊リクエスト: 市民からの購入希望")

_SURNAMES = (
    "佐々木 井上 木村 林 清水 山崎 森 池田 橋本 阿部 石川 前田 藤田 岡田 後藤 長谷川".split()
)
_SURNAME_KANA = (
    "ササキ イノウエ キムラ ハヤシ シミズ ヤマザキ モリ イケダ ハシモト アベ イシカワ マエダ "
    "フジタ オカダ ゴトウ ハセガワ"
).split()
_GIVEN = "陽翔 結衣 蓮 陽菜 湊 芽依 大和 美桜 悠真 さくら 翔太 優奈".split()
_GIVEN_KANA = "ハルト ユイ レン ヒナ ミナト メイ ヤマト ミオ ユウマ サクラ ショウタ ユウナ".split()


@dataclass(frozen=True)
class DemoPatron:
    """A demo login and what it is for."""

    card_number: str
    password: str
    name: str
    kana: str
    category: PatronCategory
    purpose: str
    email: str | None = None
    phone: str | None = None


DEMO_PATRONS: list[DemoPatron] = [
    DemoPatron(
        "1000000001",
        "hanako01",
        "山田 花子",
        "ヤマダ ハナコ",
        PatronCategory.ADULT,
        "標準: 貸出 (期限間近・延長済・予約付き) と予約 (全状態)",
        "hanako@example.jp",
        "048-000-0001",
    ),
    DemoPatron(
        "1000000002",
        "ken00002",
        "佐藤 健",
        "サトウ ケン",
        PatronCategory.ADULT,
        "利用停止中 (長期延滞)",
        "sato@example.jp",
        "048-000-0002",
    ),
    DemoPatron(
        "1000000003",
        "ichiro03",
        "鈴木 一郎",
        "スズキ イチロウ",
        PatronCategory.ADULT,
        "カード有効期限切れ",
        "suzuki@example.jp",
        "048-000-0003",
    ),
    DemoPatron(
        "1000000004",
        "4825170396",
        "高橋 美咲",
        "タカハシ ミサキ",
        PatronCategory.ADULT,
        "仮パスワード (変更が必要)",
        "misaki@example.jp",
        None,
    ),
    DemoPatron(
        "1000000005",
        "makoto05",
        "田中 誠",
        "タナカ マコト",
        PatronCategory.ADULT,
        "延滞資料あり (5日・20日): 延長不可・予約不可",
        "tanaka@example.jp",
        "048-000-0005",
    ),
    DemoPatron(
        "1000000006",
        "yui00006",
        "伊藤 ゆい",
        "イトウ ユイ",
        PatronCategory.CHILD,
        "児童 (絵本・紙芝居を貸出中、メールなし)",
        None,
        "048-000-0006",
    ),
    DemoPatron(
        "1000000007",
        "tadashi7",
        "渡辺 正",
        "ワタナベ タダシ",
        PatronCategory.ADULT,
        "メールなし (電話連絡のみ)",
        None,
        "048-000-0007",
    ),
    DemoPatron(
        "1000000008",
        "kazuko08",
        "中村 和子",
        "ナカムラ カズコ",
        PatronCategory.ADULT,
        "3年以上カード未使用",
        "kazuko@example.jp",
        None,
    ),
    DemoPatron(
        "1000000009",
        "naoki009",
        "小林 直樹",
        "コバヤシ ナオキ",
        PatronCategory.ADULT,
        "相互貸借資料・3日延滞 (予約は可)",
        "kobayashi@example.jp",
        "048-000-0009",
    ),
    DemoPatron(
        "1000000010",
        "sakura10",
        "加藤 さくら",
        "カトウ サクラ",
        PatronCategory.ADULT,
        "AV予約上限 (6件) に到達、複製絵画を貸出中",
        "sakura@example.jp",
        None,
    ),
    DemoPatron(
        "1000000011",
        "keiko011",
        "吉田 恵子",
        "ヨシダ ケイコ",
        PatronCategory.ADULT,
        "未払いの弁償金あり",
        "yoshida@example.jp",
        "048-000-0011",
    ),
    DemoPatron(
        "1000000012",
        "daisuke2",
        "山口 大輔",
        "ヤマグチ ダイスケ",
        PatronCategory.ADULT,
        "移動図書館ステーションで受取、移動図書館での貸出",
        None,
        "048-000-0012",
    ),
    DemoPatron(
        "1000000013",
        "satomi13",
        "松本 里美",
        "マツモト サトミ",
        PatronCategory.ADULT,
        "予約履歴 (取消・期限切れ・受取済) と取置延長済",
        "satomi@example.jp",
        None,
    ),
]
_FILLER_CARDS = [f"10000000{n:02d}" for n in range(14, 21)]


def build_sample_data(seed: int = DEFAULT_SEED, now: datetime = SAMPLE_NOW) -> LibraryData:
    """The demo dataset for ``seed`` as it stands at ``now`` (aware)."""
    return _Builder(seed, now).build()


def sample_library(
    seed: int = DEFAULT_SEED, now: datetime = SAMPLE_NOW, clock: ManualClock | None = None
) -> SimulatedLibrary:
    """A ready simulated library (its clock stands at ``now`` unless one is given)."""
    clock = clock or ManualClock(now)
    return SimulatedLibrary(build_sample_data(seed, now), clock)


class _Builder:
    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now.astimezone(TOKYO)
        self.clock = ManualClock(self.now)
        self.copies: dict[str, list[str]] = {}
        self.biblio_ids: dict[str, int] = {}

    def build(self) -> LibraryData:
        data = LibraryData(name="みどり市立図書館", rules=HouseRules(), branches=_branches())
        self._catalogue(data)
        self._patrons(data)
        self.lib = SimulatedLibrary(data, self.clock)
        self._queues()
        self._scenarios()
        self._everyday_circulation()
        self._direct_records(data)
        self.clock.now = self.now
        self.lib.advance()
        self._finish_patrons(data)
        self._new_arrivals(data)
        return data

    # -- records written directly ------------------------------------------------------

    def _catalogue(self, data: LibraryData) -> None:
        serial = 0
        for biblio_id, title in enumerate(CATALOGUE, 1):
            self.biblio_ids[title.key] = biblio_id
            data.biblios.append(
                Biblio(
                    id=biblio_id,
                    title=title.title,
                    author=title.author,
                    item_type=title.item_type,
                    publisher=title.publisher,
                    year=title.year,
                    series=title.series,
                    volume=title.volume,
                    isbn=None if title.item_type in _NO_ISBN else sample_isbn(biblio_id),
                    title_reading=READINGS[title.key][0],
                    author_reading=READINGS[title.key][1],
                )
            )
            lo, hi = title.copies
            # Single-copy titles stay single; others get a copy or two more at busy branches.
            count = 1 if hi == 1 else self.rng.randint(lo + 1, hi + 2)
            barcodes: list[str] = []
            for n in range(count):
                serial += 1
                barcode = f"21{serial:08d}"
                home = _SHELF_BRANCHES[n % len(_SHELF_BRANCHES)] if n else "CEN"
                data.items.append(
                    Item(
                        id=serial,
                        barcode=barcode,
                        biblio_id=biblio_id,
                        home_branch=home,
                        location=home,
                        call_number=title.call,
                        status=ItemStatus.ON_ORDER
                        if title.key in _ON_ORDER
                        else ItemStatus.AVAILABLE,
                        not_for_loan=title.key in _REFERENCE,
                        interlibrary_from=_INTERLIBRARY.get(title.key),
                    )
                )
                barcodes.append(barcode)
            self.copies[title.key] = barcodes
        # A purchase request: a title record with no copies yet.
        data.biblios.append(
            Biblio(
                id=len(data.biblios) + 1,
                title=_SUGGESTION[0],
                author=_SUGGESTION[1],
                item_type=ItemType.BOOK,
                publisher="未定",
            )
        )
        # A lost copy, for the patron who owes its replacement.
        lost = next(i for i in data.items if i.barcode == self.copies["python"][-1])
        lost.status = ItemStatus.LOST

    def _patrons(self, data: LibraryData) -> None:
        today = self.now.date()
        for n, demo in enumerate(DEMO_PATRONS, 1):
            born = (
                date(2016, 4, 2)
                if demo.category is PatronCategory.CHILD
                else date(1950 + n * 3, n % 12 + 1, 10 + n)
            )
            data.patrons.append(
                Patron(
                    id=n,
                    card_number=demo.card_number,
                    password=demo.password,
                    name=demo.name,
                    name_kana=demo.kana,
                    category=demo.category,
                    home_branch="CEN" if n % 3 else "KITA",
                    birth_date=born,
                    expiry_date=date(today.year + 2, 3, 31),
                    last_activity=today - timedelta(days=30),
                    email=demo.email,
                    phone=demo.phone,
                    address=f"みどり市緑町{n}丁目{n + 2}番{n * 3}号",
                    note=demo.purpose,
                )
            )
        for n, card in enumerate(_FILLER_CARDS, len(DEMO_PATRONS) + 1):
            s = self.rng.randrange(len(_SURNAMES))
            g = self.rng.randrange(len(_GIVEN))
            data.patrons.append(
                Patron(
                    id=n,
                    card_number=card,
                    password=f"pass{card[-4:]}",
                    name=f"{_SURNAMES[s]} {_GIVEN[g]}",
                    name_kana=f"{_SURNAME_KANA[s]} {_GIVEN_KANA[g]}",
                    category=PatronCategory.STUDENT if n == 20 else PatronCategory.ADULT,
                    home_branch=self.rng.choice(_SHELF_BRANCHES),
                    birth_date=date(self.rng.randint(1945, 2008), self.rng.randint(1, 12), 1),
                    expiry_date=date(today.year + 1, 3, 31),
                    last_activity=today - timedelta(days=10),
                    email=f"user{card[-2:]}@example.jp",
                    phone=f"048-000-{card[-4:]}",
                    address=f"みどり市桜台{n}-{self.rng.randint(1, 30)}",
                    note="一般利用者 (予約待ちの列や貸出の相手役)",
                )
            )

    def _direct_records(self, data: LibraryData) -> None:
        """What no operation makes: a purchase request, an order, a fee."""
        now = self.now
        suggestion = data.biblios[-1]
        hanako = data.patrons[0]
        for biblio_id, state, note in (
            (suggestion.id, HoldState.SUGGESTED, _SUGGESTION[2]),
            (self.biblio_ids["kotoba"], HoldState.ON_ORDER, "発注済 (入荷待ち)"),
        ):
            data.holds.append(
                Hold(
                    id=max(h.id for h in data.holds) + 1,
                    patron_id=hanako.id,
                    biblio_id=biblio_id,
                    pickup="CEN",
                    placed=now - timedelta(days=12),
                    state=state,
                    rank=1,
                    state_since=now - timedelta(days=12),
                    note=note,
                )
            )
        items = {i.barcode: i for i in data.items}
        lost = items[self.copies["python"][-1]]
        damaged = items[self.copies["kokoro"][-1]]
        data.fees.append(
            Fee(
                id=1,
                patron_id=11,
                kind=FeeKind.REPLACEMENT,
                amount=2970,
                description=f"弁償金 (紛失資料 {lost.barcode})",
                paid=1320,
                item_id=lost.id,
                created=now.date() - timedelta(days=40),
            )
        )
        # A damaged copy (water stains) charged to a seeded patron, not a demo login's.
        data.fees.append(
            Fee(
                id=2,
                patron_id=len(DEMO_PATRONS) + 2,
                kind=FeeKind.DAMAGE,
                amount=1100,
                description=f"汚損弁償金 (水濡れ {damaged.barcode})",
                item_id=damaged.id,
                created=now.date() - timedelta(days=9),
            )
        )

    def _finish_patrons(self, data: LibraryData) -> None:
        today = self.now.date()
        by_card = {p.card_number: p for p in data.patrons}
        by_card["1000000002"].block_note = "長期延滞のため貸出停止中"
        by_card["1000000003"].expiry_date = today - timedelta(days=62)
        by_card["1000000004"].temporary_password = True
        by_card["1000000008"].last_activity = _years_ago(today, 3) - timedelta(days=61)

    def _new_arrivals(self, data: LibraryData) -> None:
        """Titles received in the last weeks (受入), for new-arrival alerts (SDI). Written last,
        with no draw from the seeded generator, so the rest of the dataset is unchanged."""
        today = self.now.date()
        serial = max(i.id for i in data.items)
        for title in NEW_ARRIVALS:
            biblio_id = len(data.biblios) + 1
            self.biblio_ids[title.key] = biblio_id
            data.biblios.append(
                Biblio(
                    id=biblio_id,
                    title=title.title,
                    author=title.author,
                    item_type=title.item_type,
                    publisher=title.publisher,
                    year=title.year,
                    subjects=list(title.subjects),
                    title_reading=title.title_kana,
                    author_reading=title.author_kana,
                )
            )
            serial += 1
            data.items.append(
                Item(
                    id=serial,
                    barcode=f"29{serial:08d}",
                    biblio_id=biblio_id,
                    home_branch="CEN",
                    location="CEN",
                    call_number=title.call,
                    acquired=today - timedelta(days=title.days_ago),
                )
            )

    # -- circulation through the model -------------------------------------------------

    def at(self, days: float, hours: float = 0) -> None:
        self.clock.now = self.now + timedelta(days=days, hours=hours)

    def lend(
        self, card: str, key: str, days: float, copy: int = 0, branch: str | None = None
    ) -> LoanView:
        self.at(days)
        return self.lib.checkout(card, self.copies[key][copy], branch)

    def lend_all(self, key: str, days: float) -> None:
        """Lend every copy still on the shelf to the extra patrons (none left for holds)."""
        for n, barcode in enumerate(self.copies[key]):
            info = self.lib.item_info(barcode)
            if info.status != ItemStatus.AVAILABLE or info.not_for_loan:
                continue
            self.at(days)
            self.lib.checkout(_FILLER_CARDS[(n + len(key)) % len(_FILLER_CARDS)], barcode)

    def hold(
        self,
        card: str,
        key: str,
        days: float,
        pickup: str = "CEN",
        contact: ContactMethod | None = None,
    ) -> HoldView:
        self.at(days)
        return self.lib.place_hold(card, pickup, biblio_id=self.biblio_ids[key], contact=contact)

    def _everyday_circulation(self) -> None:
        """Random loans by the extra patrons around the demo patrons' stories."""
        for title in CATALOGUE:
            for barcode in self.copies[title.key]:
                if self.rng.random() < 0.3:
                    self.at(-self.rng.randint(1, 12), self.rng.randint(0, 8))
                    try:
                        self.lib.checkout(self.rng.choice(_FILLER_CARDS), barcode)
                    except Refusal:
                        pass  # not on the shelf, reference-only, or this patron has one

    def _queues(self) -> None:
        """Popular series volumes: every copy out and other patrons queued."""
        for n, key in enumerate(("hoshi2", "hoshi3", "hoshi4")):
            self.lend_all(key, -9 + n)
            self.others_queue(key, -6 + n, 2)

    def others_queue(self, key: str, days: float, count: int) -> None:
        """``count`` extra patrons (those not reading a copy) join the title's queue."""
        for card in _FILLER_CARDS:
            try:
                self.hold(card, key, days, pickup=self.rng.choice(_SHELF_BRANCHES))
            except Refusal:
                continue  # this patron is reading a copy
            count -= 1
            if not count:
                return
        raise AssertionError(f"not enough patrons to queue for {key}")

    def _scenarios(self) -> None:
        hanako, ken, tanaka = "1000000001", "1000000002", "1000000005"
        yui, tadashi = "1000000006", "1000000007"
        # 山田花子: loans due soon, renewed once, wanted by others; one hold in every state.
        self.lend(hanako, "kokoro", -12)
        self.lend(hanako, "sasameyuki", -20)
        self.at(-7)
        self.lib.renew(hanako, self.copies["sasameyuki"][0])
        self.lend(hanako, "hoshi1", -10)
        self.lend_all("hoshi1", -8)
        self.others_queue("hoshi1", -5, 2)
        self.hold(hanako, "hoshi2", -3)  # waiting behind others
        self.lend_all("rekishi3", -16)
        self.hold(hanako, "rekishi3", -5)
        self.at(0, -3)
        self.lib.checkin(self._lent_copy("rekishi3"), "KITA")  # → in transit to CEN
        self.lend_all("ginga", -11)
        self.hold(hanako, "ginga", -6)
        self.at(-1, -1)
        self.lib.checkin(self._lent_copy("ginga"), "MINAMI")  # arrives, being prepared
        self.lend_all("saien", -12)
        self.hold(hanako, "saien", -6)
        self.at(-2)
        self.lib.checkin(self._lent_copy("saien"), "CEN")  # on the hold shelf
        self.lend_all("kyoto", -9)
        suspended = self.hold(hanako, "kyoto", -4)
        self.lib.suspend_hold(hanako, suspended.hold_id, self.now.date() + timedelta(days=14))

        # 佐藤健 (blocked later) has a long-overdue loan; 田中誠 two overdue loans.
        self.lend(ken, "shikkaku", -39, copy=-1)
        self.lend(tanaka, "meros", -19, copy=-1)
        self.lend(tanaka, "yukiguni", -34, copy=-1)
        # 伊藤ゆい (child): picture book and kamishibai.
        self.lend(yui, "kabu", -3, copy=-1)
        self.lend(yui, "omusubi", -3, copy=0)
        # 渡辺正 (no e-mail): cassette; a hold with phone contact.
        self.lend(tadashi, "rodoku", -6, copy=0)
        self.lend_all("chopin", -10)
        self.hold(tadashi, "chopin", -5, contact=ContactMethod.PHONE)
        # 小林直樹: inter-library loan and a loan 3 days overdue.
        self.lend("1000000009", "minzoku", -7)
        self.lend("1000000009", "remon", -17, copy=-1)
        # 加藤さくら: six AV holds (the AV limit) and an art reproduction on loan.
        for n, key in enumerate(("daiku", "doyo", "samurai", "tokyo", "isan", "eikaiwa")):
            self.lend_all(key, -12)
            self.hold("1000000010", key, -7 + n * 0.5, pickup="MINAMI")
        self.lend("1000000010", "namiura", -5)
        # 山口大輔: bookmobile loan, and a hold ready at a bookmobile station.
        self.lend("1000000012", "takase", -4, copy=0, branch="BM")
        self.lend_all("neko", -10)
        self.hold("1000000012", "neko", -6, pickup="BM02")
        self.at(-1)
        self.lib.checkin(self._lent_copy("neko"), "BM")
        # 松本里美: a cancelled, an expired and a fulfilled hold; a ready hold extended once.
        self.lend_all("takekurabe", -25)
        cancelled = self.hold("1000000013", "takekurabe", -20)
        self.lib.cancel_hold("1000000013", cancelled.hold_id)
        self.lend_all("rashomon", -25)
        self.hold("1000000013", "rashomon", -20, pickup="EKI")
        self.at(-13)
        self.lib.checkin(self._lent_copy("rashomon"), "EKI")  # lapses on the final advance
        self.lend_all("chumon", -15)
        self.hold("1000000013", "chumon", -10)
        self.at(-6)
        self.lib.checkin(self._lent_copy("chumon"), "CEN")
        self.at(-4)
        self.lib.checkout("1000000013", self._held_copy("1000000013", "chumon"))
        self.lend_all("kazetachinu", -14)
        extended = self.hold("1000000013", "kazetachinu", -11)
        self.at(-9)
        self.lib.checkin(self._lent_copy("kazetachinu"), "CEN")
        self.at(-8)
        self.lib.extend_pickup("1000000013", extended.hold_id)

    def _lent_copy(self, key: str) -> str:
        """A copy of the title that is out on loan."""
        for barcode in self.copies[key]:
            if self.lib.item_info(barcode).status == ItemStatus.CHECKED_OUT:
                return barcode
        raise AssertionError(f"no copy of {key} on loan")

    def _held_copy(self, card: str, key: str) -> str:
        for hold in self.lib.holds(card):
            if hold.biblio_id == self.biblio_ids[key] and hold.barcode:
                return hold.barcode
        raise AssertionError(f"no found hold on {key}")


def _branches() -> list[Branch]:
    return [
        Branch(b.code, b.name, b.kind, b.pickup, [Station(**vars(s)) for s in b.stations])
        for b in BRANCHES
    ]


def _years_ago(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def demo_credentials(library: SimulatedLibrary | None = None) -> str:
    """A Markdown section listing demo logins and notable items of the sample library."""
    library = library or sample_library()
    lines = [
        "| card | password | name | what it shows |",
        "|---|---|---|---|",
    ]
    for demo in DEMO_PATRONS:
        lines.append(f"| `{demo.card_number}` | `{demo.password}` | {demo.name} | {demo.purpose} |")
    lines.append(
        f"| `{_FILLER_CARDS[0]}`–`{_FILLER_CARDS[-1]}` | `pass` + last 4 digits | (seeded) "
        "| other patrons: queues, everyday loans |"
    )
    lines += ["", "| barcode | title | why it is notable |", "|---|---|---|"]
    for barcode, why in _notable_items(library):
        info = library.item_info(barcode)
        lines.append(f"| `{barcode}` | {info.title} | {why} |")
    return "\n".join(lines) + "\n"


def _notable_items(library: SimulatedLibrary) -> list[tuple[str, str]]:
    notable: list[tuple[str, str]] = []
    wanted = {
        ItemType.ART: "複製絵画: 予約不可・延長不可",
        ItemType.KAMISHIBAI: "紙芝居",
        ItemType.CASSETTE: "カセットテープ (AV)",
        ItemType.MAGAZINE: "雑誌",
    }
    seen: set[str] = set()
    for item in library.data.items:
        info = library.item_info(item.barcode)
        if info.not_for_loan and "reference" not in seen:
            seen.add("reference")
            notable.append((item.barcode, "参考図書 (禁帯出): 貸出・予約不可"))
        elif info.interlibrary_from and "ill" not in seen:
            seen.add("ill")
            notable.append((item.barcode, f"相互貸借 ({info.interlibrary_from}): 延長不可"))
        elif info.status == ItemStatus.ON_ORDER and "order" not in seen:
            seen.add("order")
            notable.append((item.barcode, "発注中 (circulation status 02)"))
        elif info.in_transit and "transit" not in seen:
            seen.add("transit")
            notable.append((item.barcode, f"予約資料の回送中 → {info.hold_pickup}"))
        elif info.on_hold_shelf and "shelf" not in seen:
            seen.add("shelf")
            notable.append((item.barcode, f"取置中 (期限 {info.hold_pickup_deadline})"))
        elif info.status == ItemStatus.LOST and "lost" not in seen:
            seen.add("lost")
            notable.append((item.barcode, "紛失 (circulation status 12)"))
        elif info.item_type in wanted and info.item_type.value not in seen and not info.due:
            seen.add(info.item_type.value)
            notable.append((item.barcode, wanted[info.item_type]))
        elif info.hold_queue_length >= 2 and info.due and "queue" not in seen:
            seen.add("queue")
            notable.append((item.barcode, f"貸出中・予約{info.hold_queue_length}件 (延長不可)"))
    return notable
