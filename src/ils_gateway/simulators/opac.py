"""An OPAC's new-arrival feed (新着資料 RSS) over the simulated library, for SIP2 libraries.

SIP2 has no message that lists a catalogue, so a library behind SIP2 announces new arrivals
the way Japanese OPACs do: an RSS 2.0 feed of the titles received lately. Each ``item`` has the
title, ``link``, ``guid``, ``pubDate`` (RFC 822, the day received at 10:00 Tokyo), ``dc:creator``,
``dc:subject`` per heading, ``dc:type`` (the material type) and the readings as DC-NDL
transcriptions (``dcndl:titleTranscription``, ``dcndl:creatorTranscription``: the vocabulary of
the National Diet Library's DC-NDL, which NDL Search's own RSS/OpenSearch answers use).

``GET /opac/rss/new-arrivals`` lists the copies received in the last ``days`` days (default 30,
``?days=N``), newest first, one item per title. ``create_opac_app(library)`` builds the app.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

from ils_gateway.simulators.library import TOKYO, SimulatedLibrary
from ils_gateway.simulators.policy import ItemType

__all__ = ["FEED_PATH", "OPAC_LIBRARY", "create_opac_app", "rss_document"]

FEED_PATH = "/opac/rss/new-arrivals"
OPAC_LIBRARY = web.AppKey("opac_library", SimulatedLibrary)

# The simulated ILS's item types as the canonical material words a feed's dc:type carries.
_DC_TYPE = {
    ItemType.BOOK: "book",
    ItemType.PICTURE_BOOK: "picture_book",
    ItemType.MAGAZINE: "magazine",
    ItemType.KAMISHIBAI: "kamishibai",
    ItemType.CD: "cd",
    ItemType.DVD: "dvd",
    ItemType.CASSETTE: "cassette",
    ItemType.ART: "art_reproduction",
}


def rss_document(library: SimulatedLibrary, base_url: str, days: int = 30) -> str:
    """The RSS 2.0 text of the titles received in the last ``days`` days."""
    today = library.today()
    first: dict[int, datetime] = {}
    for item in library.data.items:
        if item.acquired is None or item.acquired < today - timedelta(days=days):
            continue
        moment = datetime.combine(item.acquired, time(10), TOKYO)
        if item.biblio_id not in first or moment < first[item.biblio_id]:
            first[item.biblio_id] = moment
    entries: list[str] = []
    for biblio_id, moment in sorted(first.items(), key=lambda kv: (kv[1], kv[0]), reverse=True):
        b = library.biblio(biblio_id)
        link = f"{base_url}/opac/records/{biblio_id}"
        parts = [
            f"<title>{escape(b.title)}</title>",
            f"<link>{escape(link)}</link>",
            f'<guid isPermaLink="false">midori:biblio:{biblio_id}</guid>',
            f"<pubDate>{format_datetime(moment)}</pubDate>",
            f"<dc:creator>{escape(b.author)}</dc:creator>",
            *(f"<dc:subject>{escape(s)}</dc:subject>" for s in b.subjects),
            f"<dc:type>{_DC_TYPE.get(b.item_type, 'other')}</dc:type>",
        ]
        if b.title_reading:
            parts.append(
                f"<dcndl:titleTranscription>{escape(b.title_reading)}</dcndl:titleTranscription>"
            )
        if b.author_reading:
            parts.append(
                f"<dcndl:creatorTranscription>{escape(b.author_reading)}</dcndl:creatorTranscription>"
            )
        entries.append("<item>" + "".join(parts) + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcndl="http://ndl.go.jp/dcndl/terms/"><channel>'
        f"<title>{escape(library.data.name)} 新着資料</title>"
        f"<link>{escape(base_url)}/opac/</link>"
        "<description>新着資料のお知らせ</description><language>ja</language>"
        + "".join(entries)
        + "</channel></rss>\n"
    )


async def new_arrivals(request: web.Request) -> web.Response:
    """GET /opac/rss/new-arrivals[?days=N]."""
    raw = request.query.get("days", "30")
    if not raw.isdigit() or not 1 <= int(raw) <= 366:
        return web.Response(status=400, text="days: a whole number from 1 to 366")
    base = f"{request.scheme}://{request.host}"
    text = rss_document(request.app[OPAC_LIBRARY], base, int(raw))
    return web.Response(text=text, content_type="application/rss+xml", charset="utf-8")


def create_opac_app(library: SimulatedLibrary) -> web.Application:
    """The OPAC feed app over ``library``."""
    app = web.Application()
    app[OPAC_LIBRARY] = library
    app.router.add_get(FEED_PATH, new_arrivals)
    return app
