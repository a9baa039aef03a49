"""The simulated library's charges: the sample's lost and damaged items in every face's
shape, and an overdue fine only where the house rules say so (Japanese public libraries
charge none)."""

from __future__ import annotations

import dataclasses

from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library

MAKOTO = "1000000005"  # has loans 5 and 20 days overdue (sample data)


def _overdue(lib: SimulatedLibrary) -> list[tuple[str, int]]:
    return [(ln.barcode, ln.overdue_days) for ln in lib.loans(MAKOTO) if ln.overdue_days > 0]


def test_sample_charges() -> None:
    lib = sample_library()
    keiko = lib.patron_info("1000000011")
    (fee,) = keiko.fees
    assert (fee.kind, fee.amount, fee.outstanding, fee.barcode) == (
        "replacement",
        2970,
        1650,
        "2100000088",
    )
    assert keiko.fine_items == ("弁償金 (紛失資料 2100000088) 1650.00",)
    assert keiko.fee_total == 1650
    assert lib.patron_info("1000000015").fee_total == 1100


def test_no_fine_for_lateness_by_default() -> None:
    lib = sample_library()
    barcode, _ = _overdue(lib)[0]
    lib.checkin(barcode)
    assert lib.patron_info(MAKOTO).fees == ()


def test_a_library_that_fines_charges_at_checkin_with_its_cap() -> None:
    lib = sample_library()
    lib.data.rules = dataclasses.replace(
        lib.data.rules, overdue_fine_per_day=10, overdue_fine_cap=150
    )
    (short, short_days), (long, _) = sorted(_overdue(lib), key=lambda x: x[1])
    lib.checkin(short)
    lib.checkin(long)
    fees = lib.patron_info(MAKOTO).fees
    assert [(f.kind, f.amount, f.barcode) for f in fees] == [
        ("overdue", short_days * 10, short),
        ("overdue", 150, long),
    ]
    assert lib.patron_info(MAKOTO).fee_total == short_days * 10 + 150
