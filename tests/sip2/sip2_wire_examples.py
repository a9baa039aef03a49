"""Reads the real vendors' frames from the shared reference file (never retyped in tests)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REFERENCE = Path("/work/shared/reference/sip2_wire_examples.txt")
_FRAME = re.compile(r"^\s+(SC->ACS|ACS->SC): (.*)$")


@dataclass(frozen=True)
class WireExample:
    """One frame from the reference file with its verdict line."""

    label: str
    direction: str
    frame: bytes
    checksum_ok: bool
    error_detection: bool

    @property
    def id(self) -> str:
        return f"{self.label}:{self.frame[:2].decode()}"


def load_examples() -> list[WireExample]:
    """Every frame of the reference file, in order."""
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    out: list[WireExample] = []
    label = ""
    for i, line in enumerate(lines):
        if line.startswith("["):
            label = line.split("]")[0] + "]"
        m = _FRAME.match(line)
        if not m:
            continue
        verdict = lines[i + 1].strip()
        out.append(
            WireExample(
                label=label,
                direction=m.group(1),
                frame=m.group(2).encode("utf-8"),
                checksum_ok="checksum OK" in verdict,
                error_detection="no AY/AZ" not in verdict,
            )
        )
    return out
