"""The Koha simulator over the seeded sample library, as ``ils-gateway simulate koha`` runs it."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters" / "koha"))
from koha_spec import SpecCheckingTransport, load_spec_or_skip

from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.adapters.koha.config import KohaBackendConfig
from ils_gateway.cli import main
from ils_gateway.domain.vocab import HoldStatus
from ils_gateway.simulators.koha_cli import start_koha_simulator
from ils_gateway.simulators.sample_data import DEMO_PATRONS, SAMPLE_NOW, sample_library


def test_cli_offers_the_command() -> None:
    result = CliRunner().invoke(main, ["simulate", "koha", "--help"])
    assert result.exit_code == 0 and "--port" in result.output


async def test_sample_library_over_koha_rest() -> None:
    koha_spec = load_spec_or_skip()
    runner, url = await start_koha_simulator(sample_library(), port=0)
    demo = DEMO_PATRONS[0]
    config = KohaBackendConfig(
        kind="koha", base_url=url, client_id="koha-demo-gateway", client_secret="koha-demo-secret"
    )
    koha = KohaBackend(config, transport=SpecCheckingTransport(koha_spec), today=SAMPLE_NOW.date)
    try:
        patron = await koha.authenticate(demo.card_number, demo.password)
        assert patron.name == demo.name
        loans = await koha.list_loans(patron)
        holds = await koha.list_holds(patron)
        assert loans and holds
        # the standard demo patron has holds in several states; each maps to the vocabulary
        assert len({h.status for h in holds}) >= 2
        assert all(isinstance(h.status, HoldStatus) for h in holds)
        assert await koha.list_pickup_libraries()
    finally:
        await koha.close()
        await runner.cleanup()


async def test_patrons_see_only_their_own_records_and_all_of_them() -> None:
    """Over a Koha that matches by *contains* and pages by 20, as real Koha does: patron 1
    sees no loan of patrons 10-19, patron 14 sees all 23 loans, and the login and summary
    counts are those of the lists (the purchase suggestion is not a hold)."""
    koha_spec = load_spec_or_skip()
    library = sample_library()
    runner, url = await start_koha_simulator(library, port=0)
    config = KohaBackendConfig(
        kind="koha", base_url=url, client_id="koha-demo-gateway", client_secret="koha-demo-secret"
    )
    koha = KohaBackend(config, transport=SpecCheckingTransport(koha_spec), today=SAMPLE_NOW.date)
    try:
        first = DEMO_PATRONS[0]
        patron = await koha.authenticate(first.card_number, first.password)
        loans = await koha.list_loans(patron)
        holds = await koha.list_holds(patron)
        assert {loan.id for loan in loans} == {
            str(v.checkout_id) for v in library.loans(first.card_number)
        }
        open_holds = [h for h in library.holds(first.card_number) if h.state.value != "suggested"]
        assert {h.id for h in holds} == {str(h.hold_id) for h in open_holds}
        summary = await koha.patron_summary(patron)
        for counted in (patron, summary):
            assert counted.loans_count == len(loans)
            assert counted.overdue_count == sum(1 for loan in loans if loan.days_overdue)
            assert counted.holds_count == len(holds)
            assert counted.holds_ready_count == sum(1 for h in holds if h.status.value == "ready")
        many = library.patron_by_id(14)
        heavy = await koha.patron_summary(
            patron.model_copy(update={"id": "14", "card_number": many.card_number})
        )
        assert heavy.loans_count == len(library.loans(many.card_number)) > 20
    finally:
        await koha.close()
        await runner.cleanup()
