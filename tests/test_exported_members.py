"""Pins the public names of the reviewed packages' modules, as httpx's test_exported_members.

These packages re-export nothing from ``__init__`` ("import from the submodules"), so a
module's public names are what it defines at top level without a leading underscore (or its
``__all__`` where it has one). A name appearing or vanishing here is an API change for the
layers above: update the table on purpose.
"""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

PUBLIC: dict[str, set[str]] = {
    # fines and fees (issue 19): the domain's money types and the SIP2 AV/BV reading
    "domain.fees": {
        "CURRENCY",
        "BlockedAction",
        "Fee",
        "FeeAccount",
        "FeeBlock",
        "FeeBlockSource",
        "FeeSummary",
        "Payment",
        "fee_type_from_text",
        "yen",
    },
    "adapters.sip2.fees": {"FineItemFormat", "fee_account", "parse_fine_item"},
    # the library calendar (issue 18): what notices and mail use for "next opening day"
    "domain.calendar": {
        "CalendarDay",
        "ClosedReason",
        "Closure",
        "HolidayRule",
        "LibraryCalendar",
        "MAX_SEARCH_DAYS",
        "MonthlyClosure",
        "OpeningHours",
        "PickupCount",
        "holiday_name",
    },
    # the mail outbox (issue 18): what notices, account and SDI call to queue a patron's mail
    "mail.outbox": {
        "LANGUAGES",
        "Outbox",
        "OutboxMail",
        "RESERVED_FIELDS",
        "TEMPLATES",
        "TEMPLATE_FIELDS",
        "TenantOutbox",
    },
    "adapters.folio.backend": {"FolioBackend", "cql_string"},
    "adapters.folio.client": {"FolioClient"},
    "adapters.folio.config": {"FolioBackendConfig", "gateway_root"},
    "adapters.folio.errors": {
        "FOLIO",
        "FolioCall",
        "REFUSAL_MESSAGES",
        "STATUS_TABLE",
        "SYSTEM",
        "read_error",
        "refusal_reason",
    },
    "adapters.koha.backend": {
        "KohaBackend",
        "TITLE_FETCH_CONCURRENCY",
        "TITLE_TTL_SECONDS",
    },
    "adapters.koha.client": {"ClientState", "KohaClient"},
    "adapters.koha.config": {"DEFAULT_ITEM_TYPES", "KohaBackendConfig", "api_root", "item_types"},
    "adapters.koha.errors": {
        "KOHA",
        "KohaCall",
        "REFUSAL_CODES",
        "STATUS_TABLE",
        "SYSTEM",
        "read_error",
        "refusal_reason",
    },
    "adapters.resilience.backend": {
        "CachePolicy",
        "CallTimeouts",
        "RESEND_AFTER",
        "ResilientBackend",
        "T",
        "Verdict",
        "backend_kind",
    },
    "adapters.resilience.breaker": {
        "BreakerState",
        "CircuitBreaker",
        "is_backend_failure",
    },
    "adapters.resilience.calls": {"GuardedCalls", "T", "call_outcome"},
    "adapters.resilience.cache": {
        "CachedRead",
        "DEFAULT_MAX_BYTES",
        "DEFAULT_MAX_DECODED",
        "DEFAULT_MAX_ENTRIES",
        "DEFAULT_PERSONAL_KEEP_FOR",
        "MemoryReadCache",
        "ReadCache",
        "RedisReadCache",
        "is_personal",
        "patron_scope",
        "tenant_scope",
    },
    "adapters.resilience.freshness": {
        "Freshness",
        "begin_freshness",
        "end_freshness",
        "report_stale",
        "track_freshness",
    },
    "deadline": {"WRITE_SHARE", "bounded", "remaining", "request_deadline", "time_left"},
    "sealing": {
        "FIRST_KEY_ID",
        "MIN_SECRET_BYTES",
        "NAMES_REMEMBERED",
        "NONCE_BYTES",
        "SealBroken",
        "SealedState",
    },
    "adapters.resilience.journal": {
        "Key",
        "PendingWrite",
        "WriteJournal",
        "current_journal",
        "unsettled",
        "write_journal",
    },
    "adapters.resilience.readback": {
        "cancel_outcome",
        "cancelled",
        "changed_as_asked",
        "find_hold",
        "find_loan",
        "hold_placed",
        "item_baseline",
        "lent",
        "loan_baseline",
        "on_loan",
        "password_changed",
        "renewed",
        "resumed",
        "returned",
        "suspended_as_asked",
    },
    "adapters.rest": {
        "ANY_CALL_STATUSES",
        "ClientState",
        "CredentialsRefused",
        "ErrorBody",
        "PageLinks",
        "RETRYABLE_STATUSES",
        "RestClient",
        "TokenAuth",
        "Vendor",
        "VendorCall",
        "decode_json",
        "error_for_status",
        "http_client",
        "renew_in_turn",
        "send_with_retries",
        "status_class",
        "translate_transport",
    },
    "elibrary.base": {"ElibraryBackend"},
    "elibrary.client": {
        "ClientState",
        "DEFAULT_LIMITS",
        "DEFAULT_RETRY",
        "DEFAULT_RETRY_AFTER",
        "KinodenClient",
        "PoolLimits",
    },
    "elibrary.errors": {
        "ERROR_CODES",
        "ElibraryCall",
        "REFUSAL_CLASSES",
        "Rule",
        "SERVER_FAILURE",
        "VendorError",
        "read_vendor_error",
        "translate_error",
        "translate_token_failure",
        "translate_transport",
    },
    "elibrary.kinoden": {"HOLD_STATUSES", "KinodenBackend", "W"},
    "elibrary.resilient": {
        "DEFAULT_TIMEOUTS",
        "ElibraryCachePolicy",
        "NO_EXTRA_RETRIES",
        "R",
        "ResilientElibrary",
    },
    "state.idempotency": {
        "DEFAULT_PENDING_TTL",
        "DEFAULT_TTL",
        "IdempotencyStore",
        "MemoryIdempotencyStore",
        "RedisIdempotencyStore",
        "StoredResponse",
        "Ticket",
        "request_fingerprint",
    },
    "state.ratelimit": {
        "MemoryRateLimiter",
        "RateDecision",
        "RateLimit",
        "RateLimiter",
        "RedisRateLimiter",
    },
    "state.loginguard": {
        "LoginGuard",
        "LoginLimit",
        "MemoryLoginGuard",
        "RedisLoginGuard",
    },
    "state.sessions": {
        "HOT_SESSIONS",
        "MemorySessionStore",
        "NewSession",
        "PURGE_STEP",
        "RedisSessionStore",
        "SessionData",
        "SessionStore",
        "TOKEN_BYTES",
        "TOUCH_RESOLUTION",
        "token_hash",
    },
    "store.engine": {
        "HEAD_REVISION",
        "SQLITE_BUSY_TIMEOUT_MS",
        "WRITE_OPTION",
        "alembic_config",
        "create_engine",
        "current_revision",
        "default_url",
        "open_store",
        "upgrade",
    },
    "store.errors": {
        "AlreadyPresent",
        "HistoryKeyError",
        "HistoryNotSetUp",
        "HoldAlreadyInSequence",
        "InvalidValue",
        "ItemAlreadyOnShelf",
        "LimitExceeded",
        "OrHoldGroupNotFound",
        "RecordNotFound",
        "SdiConditionLimitExceeded",
        "SdiConditionNotFound",
        "SequenceNotFound",
        "ShelfItemLimitExceeded",
        "ShelfItemNotFound",
        "ShelfLimitExceeded",
        "ShelfNotFound",
        "StoreError",
        "WrongHistoryPassword",
    },
    "store.records": {
        "BasketAddOutcome",
        "BasketAddResult",
        "BasketItem",
        "CancelReason",
        "CancelledHold",
        "EmailKind",
        "HistoryRecordOutcome",
        "HoldContactMethod",
        "HoldNoticeAddress",
        "HoldSequence",
        "ITEM_COMMENT_MAX_CHARS",
        "IdempotencyClaim",
        "IdempotencyRecord",
        "OrHoldGroup",
        "OrHoldMember",
        "PatronRef",
        "PatronSettings",
        "RATING_MAX",
        "RATING_MIN",
        "ReadingHistoryEntry",
        "ReadingHistoryPage",
        "SHELF_COMMENT_MAX_CHARS",
        "SHELF_NAME_MAX_CHARS",
        "SequenceMember",
        "Shelf",
        "ShelfItem",
        "StoredHistoryEntry",
        "UNSET",
        "UnlockedHistoryKey",
        "Unset",
        "checked_rating",
        "checked_text",
    },
    # new-arrival alerts (SDI, issue 18)
    "domain.sdi": {
        "AUTHOR_MAX_CHARS",
        "NAME_MAX_CHARS",
        "SUBJECT_MAX_CHARS",
        "TITLE_WORDS_MAX_CHARS",
        "ArrivalWindow",
        "NewArrival",
        "SdiCondition",
        "SdiSchedule",
        "condition_matches",
        "fold",
        "matches_for",
        "run_is_due",
    },
    "adapters.arrivals": {
        "ArrivalBatch",
        "ArrivalFeed",
        "FolioArrivalFeed",
        "KohaArrivalFeed",
        "UrlArrivalFeed",
        "open_feed",
        "parse_rss",
        "parse_sru",
    },
    "store.sdi": {"SdiRepository"},
    "tenants.sdi": {"SdiConfig", "SdiFeedConfig"},
    "tenants.calendar": {"CalendarConfig", "ClosureConfig", "WEEKDAYS", "parse_hours"},
    "tenants.backends": {
        "BackendConfig",
        "ElibraryConfig",
        "FolioBackend",
        "KinodenElibrary",
        "KohaBackend",
        "RefusalPattern",
        "SimulatorBackend",
        "SightingLogin",
        "SimulatorElibrary",
        "Sip2Backend",
        "Timeouts",
        "TlsSettings",
    },
    "tenants.demo": {"demo_registry", "demo_tenant"},
    "tenants.enforcement": {"PENDING", "RULES", "Enforcement", "Where", "explain", "policy_keys"},
    "tenants.loader": {
        "TenantConfigError",
        "TenantRegistry",
        "key_path",
        "load_tenants",
        "parse_tenants",
    },
    "tenants.models": {"LabelsConfig", "TenantConfig", "TenantFile"},
    "tenants.policy": {
        "AccountPolicy",
        "CardPolicy",
        "EbookPolicy",
        "EmailPolicy",
        "FeesPolicy",
        "HoldLimit",
        "HoldPolicy",
        "ListsPolicy",
        "LoginPolicy",
        "MaintenanceSchedule",
        "OverdueRenewal",
        "PasswordPolicy",
        "PickupExtension",
        "Policy",
        "Regex",
        "RenewalPolicy",
    },
}


def defined_names(module: str) -> set[str]:
    """``__all__`` when the module has one, else the public names it binds at top level."""
    mod = importlib.import_module(f"ils_gateway.{module}")
    if hasattr(mod, "__all__"):
        return set(mod.__all__)
    names: set[str] = set()
    for node in ast.parse(inspect.getsource(mod)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                elts = target.elts if isinstance(target, ast.Tuple) else [target]
                names.update(t.id for t in elts if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


MODULES = sorted(PUBLIC)


@pytest.mark.parametrize("module", MODULES)
def test_public_names(module: str) -> None:
    assert defined_names(module) == PUBLIC[module]
    mod = importlib.import_module(f"ils_gateway.{module}")
    assert all(hasattr(mod, name) for name in PUBLIC[module])
