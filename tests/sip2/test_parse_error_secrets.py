"""A frame the codec refuses never has its text quoted into the error (issue 15, Secrets):
the reason is logged by the servers, and a misaligned frame puts a password where a fixed
field was expected."""

from __future__ import annotations

import pytest

from ils_gateway.sip2.codec import CodecSettings, parse
from ils_gateway.sip2.errors import SIP2ParseError

SECRET = "TopSecret99"

# Each frame lacks its fixed fields, so a fixed-field reader meets the password (AD, AC, CO).
FRAMES = [
    f"63001AD{SECRET}|AAcard|AOlib|",  # date field reads "ADTopSecret99|..."
    f"63AD{SECRET}|AAcard|",  # language
    f"11YNAC{SECRET}|AD{SECRET}|",  # no-block flag / dates
    f"23001AC{SECRET}|AD{SECRET}|AAcard|",
    f"17AC{SECRET}|ABitem|",
    f"29NNAD{SECRET}|AAcard|",
]


@pytest.mark.parametrize("frame", FRAMES)
def test_parse_errors_never_quote_the_frame(frame: str) -> None:
    settings = CodecSettings(error_detection=False)
    with pytest.raises(SIP2ParseError) as info:
        parse(frame.encode(), settings)
    error = info.value
    for fragment in (SECRET, SECRET[:4], SECRET[-4:]):
        assert fragment not in str(error) and fragment not in error.reason, str(error)
