"""Problem titles and details in the patron's language (Japanese or English).

Errors are raised with English ``detail`` (and a machine-readable reason, blocks or password
problems where they have them). ``problem_text`` words a problem for a language: English as
raised (a refusal in the tenant's English label), Japanese from the tenant's labels (refusals,
blocks), from this catalogue (known sentences, sentences with a time or a list in them), and
else the Japanese title of the problem's type: never English in a Japanese answer, except the
library system's own message, which is already in the library's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ils_gateway.domain.errors import (
    GatewayError,
    PasswordChangeElsewhere,
    PasswordRejected,
    PatronBlocked,
    Refused,
)
from ils_gateway.domain.labels import Labels, Language
from ils_gateway.domain.vocab import RefusalReason

__all__ = ["JA_TITLES", "password_problem_ja", "problem_text"]

#: The Japanese title of each problem type (by ``type_slug``).
JA_TITLES: dict[str, str] = {
    "internal-error": "内部エラーが発生しました",
    "bad-request": "リクエストの内容に誤りがあります",
    "authentication-failed": "カード番号またはパスワードが正しくありません",
    "session-expired": "ログインの有効期限が切れました",
    "patron-blocked": "現在このカードはご利用いただけません。図書館にお問い合わせください",
    "password-change-required": "仮パスワードを変更してください",
    "password-change-elsewhere": "パスワードは図書館のパスワード変更ページで変更してください",
    "password-rejected": "新しいパスワードは使用できません",
    "feature-disabled": "この機能はご利用いただけません",
    "not-found": "見つかりません",
    "conflict": "ほかの操作と競合しました",
    "refused": "図書館システムにより受け付けられませんでした",
    "renewal-refused": "貸出期間を延長できません",
    "hold-refused": "予約できません",
    "cancel-refused": "予約を取り消せません",
    "invalid-field": "入力内容に誤りがあります",
    "identity-not-proven": "入力された内容が図書館の登録内容と一致しません",
    "account-requests-limited": "リクエストが多すぎます。しばらくしてからお試しください",
    "link-invalid": "このリンクは無効か、有効期限が切れています",
    "email1-required": "先にメールアドレス1を登録・確認してください",
    "account-change-refused": "図書館システムが登録内容の変更を受け付けませんでした",
    "maintenance": "システムメンテナンス中です",
    "backend-unavailable": "図書館システムに接続できません",
    "backend-error": "図書館システムから正しい応答がありませんでした",
    "outcome-unknown": "処理の結果を確認できませんでした",
    "login-locked": "ログインの失敗が続いたため、しばらくログインできません",
    "rate-limited": "リクエストが多すぎます",
    # aiohttp's own HTTP errors (api.problems.HTTP_PROBLEMS)
    "no-such-resource": "該当するページがありません",
    "method-not-allowed": "この操作は使えません",
    "request-too-large": "リクエストが大きすぎます",
    "unsupported-media-type": "リクエストの形式が正しくありません",
    "http-error": "リクエストを処理できませんでした",
}

# Known English details (exact) and their Japanese.
_JA_DETAILS: dict[str, str] = {
    "Please log in": "ログインしてください",
    "Too many failed logins; try again later": (
        "ログインの失敗が続いたため、しばらくしてからお試しください"
    ),
    "Unknown library": "この図書館は登録されていません",
    "No such hold.": "該当する予約がありません",
    "No item with this id.": "該当する資料がありません",
    "You are not borrowing this item": "この資料は借りていません",
    "No such entry": "該当する項目がありません",
    "E-books are reserved directly, not through the basket": (
        "電子書籍は予約かごを使わずに直接予約してください"
    ),
    "The library system cannot be reached now.": "図書館システムに接続できません",
    "The library system is not answering properly now.": "図書館システムが正常に応答していません",
    "The library system sent an unexpected answer.": "図書館システムから想定外の応答がありました",
    "The current password is not correct": "現在のパスワードが正しくありません",
    "The pickup deadline cannot be extended online; please contact the library": (
        "取置期限はオンラインでは延長できません。図書館にお問い合わせください"
    ),
}

# English sentences with a value in them -> their Japanese, the value carried over.
_JA_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"^Service paused until (\d{1,2}:\d{2})$"),
        lambda m: f"メンテナンスのため {m[1]} まで休止しています",
    ),
    (
        re.compile(r"^(.* may have been [a-z ]+); the library system did not confirm it\..*$"),
        lambda m: (
            _MAY_HAVE_JA.get(m[1], "処理が行われた可能性があります")
            + "が、図書館システムから確認が取れませんでした。同じ Idempotency-Key で再度お試し"
            "いただくと、二重に処理されることなく結果を確認できます"
        ),
    ),
)

# resilience's "<what> may have been <done>" sentences.
_MAY_HAVE_JA: dict[str, str] = {
    "The renewal may have been made": "延長された可能性があります",
    "The renewals may have been made": "延長された可能性があります",
    "The hold may have been placed": "予約された可能性があります",
    "The hold may have been cancelled": "予約が取り消された可能性があります",
    "The hold may have been changed": "予約が変更された可能性があります",
    "The hold may have been suspended": "予約が保留された可能性があります",
    "The hold may have been resumed": "予約の保留が解除された可能性があります",
    "The item may have been lent": "貸出された可能性があります",
    "The item may have been returned": "返却された可能性があります",
    "The password may have been changed": "パスワードが変更された可能性があります",
}

# PasswordPolicy.problems' sentences -> Japanese.
_PASSWORD_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"^length must be (\d+)-(\d+) characters$"),
        lambda m: f"{m[1]}〜{m[2]}文字にしてください",
    ),
    (
        re.compile(r"^contains characters that are not allowed$"),
        lambda m: "使用できない文字が含まれています",
    ),
    (re.compile(r"^must contain a letter$"), lambda m: "英字を1文字以上含めてください"),
    (re.compile(r"^must contain a digit$"), lambda m: "数字を1文字以上含めてください"),
    (
        re.compile(r"^must contain one of (.+)$"),
        lambda m: f"記号（{m[1]}）を1文字以上含めてください",
    ),
    (
        re.compile(r"^must differ from the current password$"),
        lambda m: "現在のパスワードと異なるものにしてください",
    ),
    (
        re.compile(r"^current password is not correct$"),
        lambda m: "現在のパスワードが正しくありません",
    ),
)


# Problems about the request's own form: their English detail names the field or the limit.
_INPUT_ERRORS = frozenset(
    {"bad-request", "invalid-field", "request-too-large", "unsupported-media-type"}
)


def password_problem_ja(problem: str) -> str:
    """One password problem (``PasswordPolicy.problems``' English) in Japanese."""
    for pattern, word in _PASSWORD_PATTERNS:
        match = pattern.match(problem)
        if match:
            return word(match)
    return problem


def _ja_detail(detail: str) -> str | None:
    known = _JA_DETAILS.get(detail)
    if known is not None:
        return known
    for pattern, word in _JA_PATTERNS:
        match = pattern.match(detail)
        if match:
            return word(match)
    return None


def problem_text(
    error: GatewayError, lang: Language, labels: Labels | None = None
) -> tuple[str, str]:
    """``(title, detail)`` of ``error`` in ``lang``, refusals and blocks in ``labels``' words
    (the tenant's)."""
    if lang == "en":
        return error.title, _detail_en(error, labels)
    title = JA_TITLES.get(error.type_slug, JA_TITLES["internal-error"])
    return title, _detail_ja(error, labels or Labels(), title)


def _detail_en(error: GatewayError, labels: Labels | None) -> str:
    # Refusals are raised with the tenant's English label (or a more specific sentence).
    return error.detail


def _detail_ja(error: GatewayError, labels: Labels, title: str) -> str:
    if isinstance(error, Refused):
        if error.reason is RefusalReason.UNKNOWN and error.backend_message:
            return error.backend_message  # the library system's own words
        return _ja_detail(error.detail) or labels.label(error.reason, "ja")
    if isinstance(error, PatronBlocked) and error.blocks:
        return title + "（" + "、".join(labels.label(b, "ja") for b in error.blocks) + "）"
    if isinstance(error, PasswordChangeElsewhere):
        return f"パスワードは図書館のパスワード変更ページで変更してください: {error.change_url}"
    if isinstance(error, PasswordRejected) and error.problems:
        return title + "：" + "、".join(password_problem_ja(p) for p in error.problems)
    known = _ja_detail(error.detail)
    if known is not None:
        return known
    if error.type_slug in _INPUT_ERRORS and error.detail != error.title:
        # What is wrong with the request names fields and limits: kept, after the Japanese.
        return f"{title}（{error.detail}）"
    return title
