"""What each backend calls a kind of material, mapped to the canonical ``MaterialType``
(``[tenants.material_types]``), and the hold limits by a patron's age or category
(``[[tenants.policy.holds.age_limits]]``).

Hold limits and exclusions are written in canonical types (``policy.holds.limits``); they can
only apply when every item, loan and hold arrives typed. Each backend says it its own way:

- SIP2: the standard media type ``CK`` (000-010, sip2.md) is coarse (a DVD is ``000`` "other"
  or ``005`` "video tape" depending on the ACS). Real ACSs also send the library's own item
  type in a vendor field: Koha's SIP server sends ``CR`` (3M extension "collection code", the
  item's ``ccode`` or, with the account option ``cr_item_field``, any item column such as
  ``itype``; Koha-Community/Koha C4/SIP/Sip/MsgType.pm ``handle_checkin`` /
  ``handle_item_information``; koha-patches 2009 "Implement the optional fields: CR CS CT CV CY
  and DA"). ``sip2_type_field`` names that field and ``sip2_type_values`` maps its values;
  it wins over ``CK`` when present. ``sip2_media_types`` overrides the standard CK table.
- Koha: the item's ``effective_item_type_id`` (itemtypes.itemtype), over the adapter's
  defaults (``koha_item_types``; the older ``backend.item_types`` still applies below it).
- FOLIO: the item's ``materialType`` by name (case-insensitive) or by id
  (``folio_material_types``), over FOLIO's reference types.

Title-level holds have no copy: the adapters type them from the record's copies (SIP2 17/18
on the copy the hold was placed with, Koha ``GET /items?biblio_id``, FOLIO the instance's
items), remembered for ``title_type_cache_seconds``.
"""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ils_gateway.domain.vocab import MaterialType

# The SIP2 2.00 media type table (sip2.md "Code tables"). Books with a disc or tape lend as
# books; "CD/CD-ROM" is taken as a music CD (a tenant whose ACS sends 006 for CD-ROMs says so).
SIP2_STANDARD_MEDIA_TYPES: dict[str, MaterialType] = {
    "000": MaterialType.OTHER,
    "001": MaterialType.BOOK,
    "002": MaterialType.MAGAZINE,
    "003": MaterialType.MAGAZINE,
    "004": MaterialType.CASSETTE,
    "005": MaterialType.VIDEO,
    "006": MaterialType.CD,
    "007": MaterialType.OTHER,
    "008": MaterialType.BOOK,
    "009": MaterialType.BOOK,
    "010": MaterialType.BOOK,
}


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MaterialTypeMap(_Config):
    """Per-tenant mapping from the backend's words for a kind of material to ``MaterialType``."""

    sip2_media_types: dict[str, MaterialType] = Field(
        default_factory=dict, description="SIP2 CK code -> material type, over the standard table"
    )
    sip2_type_field: str | None = Field(
        None,
        pattern=r"^[A-Z0-9]{2}$",
        description="vendor field of 18/12/30/10 with the library's own item type (Koha: CR)",
    )
    sip2_type_values: dict[str, MaterialType] = Field(
        default_factory=dict, description="values of sip2_type_field -> material type"
    )
    koha_item_types: dict[str, MaterialType] = Field(
        default_factory=dict, description="Koha itemtype code -> material type, over defaults"
    )
    folio_material_types: dict[str, MaterialType] = Field(
        default_factory=dict,
        description="FOLIO material type name (any case) or id -> material type, over defaults",
    )
    title_type_cache_seconds: int = Field(
        600, ge=0, description="how long the type of a title (from its copies) is remembered"
    )

    @model_validator(mode="after")
    def _values_need_field(self) -> Self:
        if self.sip2_type_values and self.sip2_type_field is None:
            raise ValueError("sip2_type_values needs sip2_type_field (the field carrying them)")
        return self

    def sip2(self, media_type: str | None, vendor_value: str | None = None) -> MaterialType:
        """The type of a SIP2 item: the vendor field's value when mapped, else CK.

        No CK at all is a book (the spec's default); a CK nobody maps is ``other``.
        """
        if vendor_value is not None:
            found = self.sip2_type_values.get(vendor_value.strip())
            if found is not None:
                return found
        if not media_type or not media_type.strip():
            return MaterialType.BOOK
        code = media_type.strip()
        return self.sip2_media_types.get(
            code, SIP2_STANDARD_MEDIA_TYPES.get(code, MaterialType.OTHER)
        )

    def folio(
        self, name: str | None, type_id: str | None, defaults: dict[str, MaterialType]
    ) -> MaterialType:
        """The type of a FOLIO material type, by id or name (tenant first, then ``defaults``)."""
        by_key = {k.lower(): v for k, v in self.folio_material_types.items()}
        for key in (type_id, name):
            if key and key.lower() in by_key:
                return by_key[key.lower()]
        if not name:
            return MaterialType.BOOK
        return defaults.get(name.lower(), MaterialType.OTHER)


class AgeHoldLimit(_Config):
    """At most ``max`` holds (of ``material_types``; empty = all) for a patron who is younger
    than ``under_age`` or whose category is one of ``categories``.

    ``age_on = "school_year"`` counts age on April 1 of the current Japanese school year, so
    ``under_age = 12`` means "below middle school" (Akiruno: holds from 中学生 up).
    """

    name: str
    under_age: int | None = Field(None, ge=1, le=30)
    age_on: str = Field("school_year", pattern=r"^(school_year|today)$")
    categories: frozenset[str] = frozenset()
    material_types: frozenset[MaterialType] = frozenset()
    max: int = Field(ge=0)

    @model_validator(mode="after")
    def _selects_someone(self) -> Self:
        if self.under_age is None and not self.categories:
            raise ValueError("an age limit needs under_age or categories")
        return self

    def applies(self, birth_date: date | None, category: str | None, today: date) -> bool:
        """True when a patron with this birth date and category falls under the limit."""
        if category is not None and category in self.categories:
            return True
        if self.under_age is None or birth_date is None:
            return False
        return age_on(birth_date, today, school_year=self.age_on == "school_year") < self.under_age

    def counts(self, material_type: MaterialType) -> bool:
        """True when a hold of this type counts toward (and is refused by) this limit."""
        return not self.material_types or material_type in self.material_types


def age_on(birth_date: date, today: date, *, school_year: bool) -> int:
    """Whole years of age on ``today``, or on April 1 of today's school year."""
    when = today
    if school_year:
        year = today.year if (today.month, today.day) >= (4, 1) else today.year - 1
        when = date(year, 4, 1)
    years = when.year - birth_date.year
    if (when.month, when.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
