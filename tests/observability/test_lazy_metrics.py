"""prometheus-client is imported when the first metric is touched, not when the code that counts
is imported (issue 17, start-up): ``--help``, ``simulate`` and library code importing the SIP2
client do not pay for it, and a run of several workers may still set the multi-process
directory after importing the gateway's modules, as long as nothing has counted yet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.exposition import choose_encoder, generate_latest

from ils_gateway.observability import metrics
from ils_gateway.observability.multiprocess import ENV

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import ils_gateway.sip2.client, ils_gateway.adapters.resilience.calls
    import ils_gateway.api.middleware, ils_gateway.jobs.schedule, ils_gateway.services.account
    from ils_gateway.observability import metrics
    from ils_gateway.observability.multiprocess import prepare_multiprocess_dir
    seen = {"imported_before": "prometheus_client" in sys.modules}
    prepare_multiprocess_dir(sys.argv[1])  # refuses when prometheus_client was imported
    metrics.request_done("list_loans", "demo", 200, 0.002)
    seen["imported_after"] = "prometheus_client" in sys.modules
    seen["files"] = sorted(os.listdir(sys.argv[1]))
    seen["text"] = metrics.render().decode()
    print(json.dumps(seen))
    """
)


def test_counting_code_imports_prometheus_client_at_the_first_count(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (ENV, ENV.lower())}
    directory = tmp_path / "metrics"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(directory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["imported_before"] is False
    assert seen["imported_after"] is True
    # the first count went to the shared directory: prometheus_client read the variable then
    assert any(name.startswith("counter_") for name in seen["files"]), seen["files"]
    assert (
        'ils_gateway_http_requests_total{route="list_loans",status="200",tenant="demo"} 1.0'
        in (seen["text"])
    )


def test_metrics_lists_every_family_before_anything_was_counted() -> None:
    env = {k: v for k, v in os.environ.items() if k not in (ENV, ENV.lower())}
    script = "from ils_gateway.observability import metrics; print(metrics.render().decode())"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in metrics.METRIC_NAMES:
        assert f"# TYPE {name} " in result.stdout, name


def test_the_content_type_is_what_prometheus_client_sends_for_render() -> None:
    encoder, content_type = choose_encoder("")
    assert encoder is generate_latest
    assert metrics.CONTENT_TYPE == content_type
