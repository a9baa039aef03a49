"""The answer's language is chosen in the gateway's one middleware (issue 17: one tenant
look-up, no second middleware per request), from remembered choices that stay correct."""

from __future__ import annotations

from ils_gateway.api import language
from ils_gateway.domain.labels import Labels

T = "/v1/tenants/koha-demo"


async def test_the_api_has_one_middleware_and_still_says_its_language(client) -> None:
    assert len(client.app.middlewares) == 1
    outside = await client.get("/healthz")
    assert outside.headers["Content-Language"] == "en"  # outside a tenant: English
    unknown = await client.get("/v1/tenants/nowhere/loans", headers={"Accept-Language": "fr"})
    assert unknown.status == 404
    assert unknown.headers["Content-Language"] == "ja"  # an unknown library: Japanese
    assert "Accept-Language" in unknown.headers["Vary"]
    english = await client.get(f"{T}/loans", headers={"Accept-Language": "en-GB"})
    assert english.status == 401
    assert english.headers["Content-Language"] == "en"
    japanese = await client.get(f"{T}/loans", headers={"Accept-Language": "ja"})
    assert japanese.headers["Content-Language"] == "ja"
    # The problem document itself is in the chosen language (chosen before errors render).
    assert (await english.json())["title"] != (await japanese.json())["title"]


def test_remembered_choices_follow_the_header_the_default_and_the_labels() -> None:
    ours, theirs = Labels(), Labels()
    first = language.answer_language("en;q=0.5, ja", "en", ours)
    assert first.lang == "ja" and first.labels is ours
    assert language.answer_language("en;q=0.5, ja", "en", ours) is first  # one object
    assert language.answer_language("en;q=0.5, ja", "en", theirs).labels is theirs
    assert language.answer_language("fr", "en", ours).lang == "en"
    assert language.answer_language("fr", "ja", ours).lang == "ja"  # the default counts


def test_the_negotiation_memo_is_bounded() -> None:
    for n in range(language._NEGOTIATED_MAX + 50):
        assert language.answer_language(f"x-{n}, en", "ja", None).lang == "en"
    assert len(language._NEGOTIATED) <= language._NEGOTIATED_MAX


def test_a_tenants_labels_and_zone_are_built_once(client) -> None:
    from ils_gateway.runtime.keys import GATEWAY_KEY

    context = client.app[GATEWAY_KEY].tenant("koha-demo").context
    assert context.labels is context.labels
    assert context.zone is context.zone
    assert context.now().tzinfo is context.zone
