"""English and Japanese labels for the canonical vocabularies, with per-tenant overrides.

English and Japanese labels are built in; each tenant may override them key by key
(``"hold_status.ready" = "お渡しできます"``), because the libraries word the same state
differently (提供可能, お渡しできます, 貸出可能, 取置中).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Literal

from ils_gateway.domain.vocab import (
    BlockReason,
    ContactMethod,
    CopyStatus,
    FeeType,
    HoldStatus,
    LoanState,
    MaterialType,
    RefusalReason,
)

Language = Literal["en", "ja"]

#: The vocabularies that have labels, by the key prefix used in overrides.
LABELLED_VOCABULARIES: dict[str, type[StrEnum]] = {
    "hold_status": HoldStatus,
    "loan_state": LoanState,
    "refusal_reason": RefusalReason,
    "block_reason": BlockReason,
    "material_type": MaterialType,
    "contact_method": ContactMethod,
    "fee_type": FeeType,
    "copy_status": CopyStatus,
}

_DEFAULTS: dict[StrEnum, tuple[str, str]] = {
    HoldStatus.UNDER_REVIEW: ("Under review", "検討中"),
    HoldStatus.ORDERED: ("Ordered", "手配済"),
    HoldStatus.WAITING: ("Waiting", "予約中"),
    HoldStatus.IN_TRANSIT: ("In transit", "移送中"),
    HoldStatus.PREPARING: ("Being prepared", "準備中"),
    HoldStatus.READY: ("Ready for pickup", "受取可能"),
    HoldStatus.SUSPENDED: ("Suspended", "保留中"),
    HoldStatus.CANCELLED: ("Cancelled", "取消"),
    HoldStatus.EXPIRED: ("Expired", "期限切れ"),
    HoldStatus.FULFILLED: ("Picked up", "受取済"),
    LoanState.ON_LOAN: ("On loan", "貸出中"),
    LoanState.OVERDUE: ("Overdue", "延滞中"),
    LoanState.RETURNED: ("Returned", "返却済"),
    LoanState.LOST: ("Lost", "紛失"),
    RefusalReason.HAS_HOLDS: ("Another patron is waiting for this item", "予約があります"),
    RefusalReason.RENEWAL_LIMIT: ("Renewal limit reached", "延長回数の上限に達しています"),
    RefusalReason.OVERDUE: ("The loan is overdue", "返却期限を過ぎています"),
    RefusalReason.TOO_OVERDUE: (
        "Overdue too long to renew",
        "返却期限を過ぎた日数が多いため延長できません",
    ),
    RefusalReason.TOO_EARLY: ("Too early to renew", "まだ延長できる期間ではありません"),
    RefusalReason.INTERLIBRARY_LOAN: (
        "Inter-library loans cannot be renewed",
        "相互貸借資料は延長できません",
    ),
    RefusalReason.EXCLUDED_ITEM_TYPE: (
        "This kind of item is excluded",
        "この資料は対象外です",
    ),
    RefusalReason.HOLD_LIMIT: ("Hold limit reached", "予約できる点数の上限に達しています"),
    RefusalReason.DUPLICATE_HOLD: ("You already hold this title", "すでに予約しています"),
    RefusalReason.ALREADY_ON_LOAN: ("You are borrowing this item", "貸出中の資料です"),
    RefusalReason.NO_COPIES: (
        "No copy is free to borrow now",
        "現在貸出できる電子書籍がありません",
    ),
    RefusalReason.LOAN_LIMIT: ("Loan limit reached", "貸出できる点数の上限に達しています"),
    RefusalReason.TITLE_AVAILABLE: (
        "This title can be borrowed now; no hold is needed",
        "この資料は貸出可能です。予約は不要です",
    ),
    RefusalReason.CARD_EXPIRED: ("Your card has expired", "利用者カードの有効期限が切れています"),
    RefusalReason.PATRON_BLOCKED: (
        "This card cannot be used now; please contact the library",
        "現在このカードはご利用いただけません。図書館にお問い合わせください",
    ),
    RefusalReason.NOT_CANCELLABLE_IN_STATE: (
        "This hold cannot be cancelled in its current state",
        "この状態の予約は取り消せません",
    ),
    RefusalReason.NOT_MODIFIABLE_IN_STATE: (
        "This hold cannot be changed in its current state",
        "この状態の予約は変更できません",
    ),
    RefusalReason.IN_SEQUENCE: (
        "Remove the hold from its sequence first",
        "順番予約を解除してから操作してください",
    ),
    RefusalReason.COMBINED_HOLD: (
        "AND/OR holds cannot be changed online",
        "AND/OR予約はオンラインでは変更できません",
    ),
    RefusalReason.NON_CIRCULATING: ("This item cannot be borrowed", "貸出できない資料です"),
    RefusalReason.AGE_RESTRICTION: ("Age restriction applies", "年齢制限のある資料です"),
    RefusalReason.ITEM_OVERDUE_BLOCKS_HOLDS: (
        "You have an overdue item",
        "返却期限を過ぎた資料があるため予約できません",
    ),
    RefusalReason.BOOKMOBILE_CONTACT_PHONE_ONLY: (
        "Bookmobile pickups are notified by phone only",
        "移動図書館での受取は電話連絡のみです",
    ),
    RefusalReason.BOOKMOBILE_STOP_REQUIRED: (
        "Choose a bookmobile stop",
        "移動図書館の駐車場を選んでください",
    ),
    RefusalReason.CONTACT_METHOD_NOT_OFFERED: (
        "The library does not notify holds this way",
        "この連絡方法は選べません",
    ),
    RefusalReason.INVALID_PICKUP_LIBRARY: (
        "This pickup library cannot be chosen",
        "この受取館は選べません",
    ),
    RefusalReason.EXTENSION_NOT_ALLOWED: (
        "The pickup deadline cannot be extended",
        "取置期限は延長できません",
    ),
    RefusalReason.BASKET_FULL: ("The reservation basket is full", "予約かごがいっぱいです"),
    RefusalReason.NOT_RENEWABLE: ("This loan cannot be renewed", "この資料は延長できません"),
    RefusalReason.UNKNOWN: (
        "The library refused this request",
        "図書館システムにより受け付けられませんでした",
    ),
    BlockReason.CARD_EXPIRED: ("Card expired", "カードの有効期限切れ"),
    BlockReason.CARD_UNUSED: ("Card not used for a long time", "長期間利用のないカード"),
    BlockReason.OVERDUE_ITEMS: ("Overdue items", "延滞資料があります"),
    BlockReason.LOST_CARD: ("Card reported lost", "紛失届の出ているカード"),
    BlockReason.FINES: ("Outstanding charges", "未納の料金があります"),
    BlockReason.TOO_MANY_CLAIMS: ("Too many claims", "返却済申告が多すぎます"),
    BlockReason.ADMINISTRATIVE: ("Blocked by the library", "図書館による利用停止"),
    BlockReason.OTHER: ("Blocked", "利用停止中"),
    MaterialType.BOOK: ("Book", "図書"),
    MaterialType.MAGAZINE: ("Magazine", "雑誌"),
    MaterialType.PICTURE_BOOK: ("Picture book", "絵本"),
    MaterialType.KAMISHIBAI: ("Kamishibai", "紙芝居"),
    MaterialType.CD: ("CD", "CD"),
    MaterialType.CASSETTE: ("Cassette tape", "カセットテープ"),
    MaterialType.VIDEO: ("Video", "ビデオ"),
    MaterialType.DVD: ("DVD", "DVD"),
    MaterialType.BLU_RAY: ("Blu-ray", "ブルーレイ"),
    MaterialType.LP: ("LP record", "LPレコード"),
    MaterialType.CD_ROM: ("CD-ROM", "CD-ROM"),
    MaterialType.MAP: ("Map", "地図"),
    MaterialType.ART_REPRODUCTION: ("Art reproduction", "複製絵画"),
    MaterialType.LARGE_PRINT: ("Large print", "大活字本"),
    MaterialType.BRAILLE: ("Braille", "点字資料"),
    MaterialType.EBOOK: ("E-book", "電子書籍"),
    MaterialType.OTHER: ("Other", "その他"),
    ContactMethod.EMAIL: ("E-mail", "メール"),
    ContactMethod.EMAIL2: ("E-mail (second address)", "メール2"),
    ContactMethod.PHONE: ("Phone", "電話"),
    ContactMethod.POST: ("Post", "郵便"),
    ContactMethod.NONE: ("No contact", "連絡不要"),
    FeeType.LOST_ITEM: ("Lost item charge", "紛失資料の弁償金"),
    FeeType.DAMAGED_ITEM: ("Damaged item charge", "汚損・破損資料の弁償金"),
    FeeType.OVERDUE: ("Overdue fine", "延滞金"),
    FeeType.PROCESSING: ("Processing fee", "手数料"),
    FeeType.CARD_REPLACEMENT: ("Card replacement fee", "カード再発行手数料"),
    FeeType.HOLD_FEE: ("Hold fee", "予約手数料"),
    FeeType.RENTAL: ("Rental charge", "貸出料金"),
    FeeType.ADMINISTRATIVE: ("Administrative fee", "事務手数料"),
    FeeType.OTHER: ("Other charge", "その他の料金"),
    CopyStatus.AVAILABLE: ("On the shelf", "在架"),
    CopyStatus.ON_LOAN: ("On loan", "貸出中"),
    CopyStatus.ON_HOLD_SHELF: ("Kept for a hold", "予約取置中"),
    CopyStatus.IN_TRANSIT: ("In transit", "回送中"),
    CopyStatus.IN_PROCESSING: ("Being processed", "整理中"),
    CopyStatus.ON_ORDER: ("On order", "発注中"),
    CopyStatus.REFERENCE_ONLY: ("Reference only", "禁帯出"),
    CopyStatus.MISSING: ("Missing", "不明"),
    CopyStatus.UNAVAILABLE: ("Unavailable", "利用不可"),
}


def label_key(value: StrEnum) -> str:
    """The override key of a vocabulary value, e.g. ``"hold_status.ready"``."""
    for prefix, enum in LABELLED_VOCABULARIES.items():
        if type(value) is enum:
            return f"{prefix}.{value.value}"
    raise TypeError(f"{type(value).__name__} has no labels")


def validate_overrides(overrides: Mapping[str, str]) -> None:
    """Raise ValueError naming the first override key that is not a labelled vocabulary value."""
    for key, text in overrides.items():
        prefix, _, value = key.partition(".")
        enum = LABELLED_VOCABULARIES.get(prefix)
        if enum is None or value not in {m.value for m in enum}:
            known = ", ".join(LABELLED_VOCABULARIES)
            raise ValueError(f"unknown label key {key!r} (use <vocabulary>.<value>; {known})")
        if not text.strip():
            raise ValueError(f"label {key!r} is empty")


class Labels:
    """The labels one tenant shows: built-in English and Japanese, each with the tenant's
    overrides (the library's own words)."""

    def __init__(
        self,
        ja_overrides: Mapping[str, str] | None = None,
        *,
        en_overrides: Mapping[str, str] | None = None,
    ) -> None:
        overrides = dict(ja_overrides or {})
        english = dict(en_overrides or {})
        validate_overrides(overrides)
        validate_overrides(english)
        self._ja_overrides = overrides
        self._en_overrides = english

    def label(self, value: StrEnum, lang: Language = "ja") -> str:
        """The label of ``value`` in ``lang``."""
        key = label_key(value)
        en, ja = _DEFAULTS[value]
        if lang == "en":
            return self._en_overrides.get(key, en)
        return self._ja_overrides.get(key, ja)

    def catalog(self, lang: Language = "ja") -> dict[str, str]:
        """Every label in ``lang``, keyed like overrides (for the API's label document)."""
        return {
            label_key(member): self.label(member, lang)
            for enum in LABELLED_VOCABULARIES.values()
            for member in enum
        }


#: Labels with no tenant overrides.
DEFAULT_LABELS = Labels()
