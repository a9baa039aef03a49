"""The built-in ``demo`` tenant that ``ils-gateway serve`` uses when given no tenant file.

Its backend is the SIP2 simulator the server starts in-process (its port is known only once
it listens, hence a function) and its e-library the in-process e-library simulator. Rules are
a readable mix of the seed libraries'.
"""

from __future__ import annotations

from ils_gateway.tenants.loader import TenantRegistry, parse_tenants
from ils_gateway.tenants.models import TenantConfig

_DEMO_TOML = """
[[tenants]]
id = "demo"
name = "デモ市立図書館"
name_en = "Demo City Library"
# The My Library demo page at /demo/demo/ (issue 20; docs/demo.md).
demo_page = true
# An OPAC kiosk's key, for trying the kiosk channel on the demo page (/demo/demo/#kiosk) and
# the API (X-Kiosk-Key). Published in docs/demo.md: for the embedded demo only.
kiosk_keys = ["demo-kiosk"]

[tenants.backend]
kind = "sip2"
host = "{host}"
port = {port}
institution_id = "DEMO"
login_user = "gateway"
login_password = "demo"
title_hold_entries = "record_id_title"  # the simulator lists "<record id> <title>" in CD
expiry_field = "PA"  # card expiry, YYYYMMDD, as Evergreen sends it
# SIP2 has no renewal count: the simulator sends one in vendor fields, as some ACSs do. Without
# these the loans say renewable = null (not known) instead of guessing "yes".
loan_fields = {{ branch = "AP", renewals_used = "ZR", renewals_allowed = "ZL" }}
refusal_patterns = [
  {{ pattern = "on_reserve|予約", reason = "has_holds" }},
  {{ pattern = "too_many|回数", reason = "renewal_limit" }},
  {{ pattern = "too_soon", reason = "too_early" }},
  {{ pattern = "overdue|延滞", reason = "overdue" }},
]

[tenants.elibrary]
kind = "simulator"

# Self-check machines speak SIP2 to the gateway (``serve`` starts this face on 127.0.0.1:6011).
[tenants.kiosk_sip2]
enabled = true
host = "127.0.0.1"
port = 6011
institution_id = "DEMO"
logins = [{{ user = "sc01", password = "demo-selfcheck" }}]

# SIP2 cannot list pickup libraries: the sample library's branches and bookmobile stations.
[[tenants.pickup_libraries]]
code = "CEN"
name = "中央図書館"
[[tenants.pickup_libraries]]
code = "KITA"
name = "北図書館"
[[tenants.pickup_libraries]]
code = "MINAMI"
name = "南図書館"
[[tenants.pickup_libraries]]
code = "EKI"
name = "駅前分室"
[[tenants.pickup_libraries]]
code = "BM"
name = "移動図書館みどり号"
bookmobile_stations = [
  {{ code = "BM01", name = "市役所前ステーション" }},
  {{ code = "BM02", name = "緑ヶ丘団地ステーション" }},
  {{ code = "BM03", name = "桜台小学校ステーション" }},
]

# The demo library's calendar (GET …/calendar): closed Mondays and the 4th Thursday; open on
# public holidays, and when a Monday is one, closed the next weekday instead.
[tenants.calendar]
closed_weekdays = ["mon"]
monthly_closed = ["4th thu"]
holidays = "open_close_next_weekday"
holiday_hours = "09:00-17:00"
year_end = ["12-28", "01-04"]
due_on_closed_day = "next_opening_day"
[tenants.calendar.hours]
tue = "09:00-19:00"
wed = "09:00-19:00"
thu = "09:00-19:00"
fri = "09:00-19:00"
sat = "09:00-17:00"
sun = "09:00-17:00"
[[tenants.calendar.closures]]
start = 2027-02-08
end = 2027-02-14
reason = "蔵書点検"
reason_en = "Stocktaking"

[tenants.policy]
idle_timeout_minutes = 15

# 1000000004 (高橋 美咲) is on a temporary password: the library system says so (仮パスワード in
# the 64's screen message) and the session may do nothing else until it is changed. SIP2 cannot
# change it, so the gate answers with the library's own password page.
[tenants.policy.account]
temporary_password_gate = true

[tenants.password_change]
url = "https://library.example.jp/midori/mypage/password"

[tenants.policy.card]
strip = "- "
pattern = '^\\d{{6,10}}$'

[tenants.policy.renewal]
max_renewals = 1
period_days = 14

[tenants.policy.holds]
max_total = 20
limits = [
  {{ name = "av", material_types = ["cd", "cassette", "video", "dvd", "blu_ray"], max = 4 }},
]
max_ebook_holds = 3
# Hold sequences need a backend that can suspend a hold; SIP2 cannot (config check says so).
sequences = false
cancelled_history_days = 14

[tenants.policy.ebooks]
max_loans = 3
max_holds = 3

[tenants.policy.lists]
basket_size = 100
max_shelves = 10
max_items_per_shelf = 100

[tenants.policy.disabled_features]
# A shared terminal shows no card barcode (anyone could photograph it from the screen).
kiosk = ["bookshelves", "reading_history", "new_arrival_alerts", "card_barcode"]
"""


def demo_tenant(sip2_port: int, sip2_host: str = "127.0.0.1") -> TenantConfig:
    """The demo tenant, talking SIP2 to a simulator listening on ``sip2_host:sip2_port``."""
    text = _DEMO_TOML.format(host=sip2_host, port=sip2_port)
    return parse_tenants(text, "<demo tenant>").tenants[0]


def demo_registry(sip2_port: int, sip2_host: str = "127.0.0.1") -> TenantRegistry:
    """A registry holding only the demo tenant."""
    return TenantRegistry([demo_tenant(sip2_port, sip2_host)])
