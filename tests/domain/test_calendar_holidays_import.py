"""Japanese holidays without python-holidays' other countries (issue 17: one process's memory):
the package ``holidays.countries`` imports all of them (~280 modules, ~8 MB), so the calendar
runs ``japan.py`` on its own; its answers are the package's own, and nothing of the kind is
left behind for a later ordinary import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from ils_gateway.domain.calendar import _holidays
    years = range(1990, 2061)
    ours = {f"{y}/{l}": {d.isoformat(): n for d, n in _holidays(y, l).items()}
            for y in years for l in ("ja", "en_US")}
    left = sorted(m for m in sys.modules if m.startswith("holidays.countries"))
    import holidays
    theirs = {
        f"{y}/{l}": {d.isoformat(): str(n)
                     for d, n in holidays.country_holidays("JP", years=y, language=l).items()}
        for y in years for l in ("ja", "en_US")
    }
    import holidays.countries.japan
    print(json.dumps({"left": left, "same": ours == theirs,
                      "ordinary": holidays.countries.japan.Japan.__name__,
                      "france": "holidays.countries.france" in sys.modules}))
    """
)


def test_holidays_come_from_japan_alone_and_match_the_package() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["left"] == []  # neither the stand-in package nor japan.py stays
    assert result["same"] is True
    # A later ordinary import is the package's own, every country included.
    assert result["ordinary"] == "Japan" and result["france"] is True
