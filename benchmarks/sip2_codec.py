"""Benchmark of the SIP2 codec against the PyPI ``sip2`` package's parser (issue 17).

Plain script: ``.venv/bin/python benchmarks/sip2_codec.py [--rounds N]``.

What it measures, for a 64 Patron Information response with ten charged items (AU) and an
18 Item Information response, both UTF-8 with Japanese text and an AY/AZ trailer:

- ``ours``: ``parse(frame, CodecSettings())`` from the frame's bytes: decode, NFC, every
  fixed field validated and typed (bools, ints, enums, ``SipDate``, ``PatronStatus``), the
  AZ checksum verified, variable fields split into ``(id, value)`` pairs, the frozen message
  object built. Once per implementation of the parser's helpers
  (``ils_gateway.sip2.speedups``): ``compiled`` (the C extension, when built) and ``pure``
  (the pure-Python fallback), each on its own row.
- ``peer``: the PyPI ``sip2`` package (Sip2 1.1, a test dependency) parsing the same frame
  with ``Sip2.sip_patron_information_response`` / ``sip_item_information_response``: an
  untyped splitter (fixed fields as string slices, variable fields into a dict of lists),
  given the frame already decoded to ``str`` and checking nothing (its checksum check lives
  elsewhere and cannot fail). ``peer+decode`` adds the ``bytes.decode`` its ``get_response``
  does, so that both sides start from the same bytes.
- ``ratio``: peer time ÷ our time (above 1.0: we are faster), per round.

Each round times every contender in turn (interleaved, so that load from other processes on
a shared machine hits all of them alike) with the same timer, ``time.process_time`` (CPU
time of this process: the figures are per core); printed are the median time per call over
the rounds and the median of the per-round ratios. Encode (``encode(message)``, checksum
written) is printed for our side only: the peer has no encoder for responses.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from ils_gateway.sip2 import codec
from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.fields import CirculationStatus, PatronStatus, SecurityMarker, SipDate
from ils_gateway.sip2.messages import ItemInformationResponse, PatronInformationResponse
from ils_gateway.sip2.speedups import COMPILED, PURE, Speedups

WHEN = SipDate("20240401    093000")
SETTINGS = CodecSettings()


def patron_information() -> PatronInformationResponse:
    return PatronInformationResponse.build(
        patron_status=PatronStatus(),
        language="014",
        transaction_date=WHEN,
        charged_items_count=10,
        institution_id="takenotsuka",
        patron_identifier="2100012345678",
        personal_name="山田 太郎",
        valid_patron=True,
        valid_patron_password=True,
        currency_type="JPY",
        charged_items=[f"21000{n:08d}" for n in range(10)],
        email_address="taro@example.jp",
        screen_messages=["貸出中の資料が10点あります"],
        sequence=4,
    )


def item_information() -> ItemInformationResponse:
    return ItemInformationResponse.build(
        circulation_status=CirculationStatus.CHARGED,
        security_marker=SecurityMarker.TATTLE_TAPE,
        transaction_date=WHEN,
        due_date=SipDate("20240415    235959"),
        item_identifier="2100000000042",
        title_identifier="ポケモン図鑑 竹林の四季",
        owner="竹ノ塚図書館",
        media_type="001",
        permanent_location="竹ノ塚 2F 児童",
        current_location="竹ノ塚",
        sequence=2,
    )


def _peer_parsers() -> dict[str, Callable[[str], object]] | None:
    """The PyPI ``sip2`` package's response parsers by command code; None if not installed."""
    try:
        from Sip2.sip2 import Sip2
    except ImportError:
        return None

    class QuietSip2(Sip2):  # type: ignore[misc]  # untyped third-party class
        def __del__(self) -> None:  # the original prints "Sip2 object unset"
            pass

    peer = QuietSip2()
    return {
        "64": peer.sip_patron_information_response,
        "18": peer.sip_item_information_response,
    }


Contender = tuple[Speedups, Callable[[], object]]


def _calls_per_round(contender: Contender, seconds: float) -> int:
    speedups, fn = contender
    codec._use_speedups(speedups)
    n = 100
    while True:
        start = time.process_time()
        for _ in range(n):
            fn()
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return n
        n *= 2


def interleaved(
    contenders: dict[str, Contender], rounds: int, seconds: float = 0.05
) -> dict[str, list[float]]:
    """Seconds per call of each contender, one figure per round, contenders taking turns;
    each runs with its own implementation of the parser's helpers."""
    counts = {name: _calls_per_round(c, seconds) for name, c in contenders.items()}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, (speedups, fn) in contenders.items():
            codec._use_speedups(speedups)
            n = counts[name]
            start = time.process_time()
            for _ in range(n):
                fn()
            times[name].append((time.process_time() - start) / n)
    return times


def _ratio(peer: list[float], ours: list[float]) -> float:
    return statistics.median(p / o for p, o in zip(peer, ours, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (median)")
    args = parser.parse_args()
    peers = _peer_parsers()
    if peers is None:
        print("the PyPI sip2 package is not installed (pip install -e '.[test]'): no peer")
    impls = {"pure": PURE} if COMPILED is None else {"compiled": COMPILED, "pure": PURE}
    if COMPILED is None:
        print("the compiled helpers are not built (pip install -e . with a C compiler)")
    header = (
        f"{'message':<30}{'helpers':<10}{'ours µs':>9}{'peer µs':>9}{'ratio':>7}"
        f"{'peer+decode µs':>16}{'ratio':>7}{'encode µs':>11}"
    )
    print(header)
    for label, message in (
        ("64 (10 charged items)", patron_information()),
        ("18 item information", item_information()),
    ):
        frame = encode(message, SETTINGS)
        text = frame.decode(SETTINGS.encoding)
        contenders: dict[str, Contender] = {}
        for impl_name, impl in impls.items():
            codec._use_speedups(impl)
            parsed = parse(frame, SETTINGS)
            assert parsed.fields == message.fields and encode(parsed, SETTINGS) == frame
            contenders[impl_name] = (impl, lambda frame=frame: parse(frame, SETTINGS))
            contenders[f"encode {impl_name}"] = (
                impl,
                lambda parsed=parsed: encode(parsed, SETTINGS),
            )
        if peers is not None:
            split = peers[message.code]
            contenders["peer"] = (PURE, lambda split=split, text=text: split(text))
            contenders["peer+decode"] = (
                PURE,
                lambda split=split, frame=frame: split(frame.decode(SETTINGS.encoding)),
            )
        times = interleaved(contenders, args.rounds)
        name = f"{label} ({len(frame)} B)"
        for impl_name in impls:
            ours = statistics.median(times[impl_name]) * 1e6
            enc = statistics.median(times[f"encode {impl_name}"]) * 1e6
            if peers is None:
                print(
                    f"{name:<30}{impl_name:<10}{ours:>9.2f}{'-':>9}{'-':>7}{'-':>16}{'-':>7}"
                    f"{enc:>11.2f}"
                )
            else:
                peer = statistics.median(times["peer"]) * 1e6
                peer_dec = statistics.median(times["peer+decode"]) * 1e6
                ratio = _ratio(times["peer"], times[impl_name])
                ratio_dec = _ratio(times["peer+decode"], times[impl_name])
                print(
                    f"{name:<30}{impl_name:<10}{ours:>9.2f}{peer:>9.2f}{ratio:>6.2f}x"
                    f"{peer_dec:>16.2f}{ratio_dec:>6.2f}x{enc:>11.2f}"
                )
            name = ""
    codec._use_speedups(COMPILED or PURE)
    print("ratio = peer time / our time, median of per-round ratios; target (issue 17): >= 1.0x")
    print("helpers: compiled = the C extension (sip2/_speedups.c), pure = the Python fallback")


if __name__ == "__main__":
    main()
