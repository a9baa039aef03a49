"""The request and cache counts are batched (issue 17: the hot path), added within
``FLUSH_AFTER`` seconds or when ``/metrics`` is read, and add up to what the same observations
made one by one add."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from ils_gateway.observability import metrics

SECONDS = [0.0004, 0.001, 0.0011, 0.003, 0.02, 0.7, 12.0, 45.0]


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _histogram(route: str) -> dict[str, float]:
    labels = {"route": route, "tenant": "batch"}
    name = "ils_gateway_http_request_duration_seconds"
    found = {
        bound: _value(f"{name}_bucket", **labels, le=bound)
        for bound in ("0.001", "0.0025", "0.005", "0.025", "1.0", "30.0", "+Inf")
    }
    return {**found, "sum": _value(f"{name}_sum", **labels)}


def _expected(seconds: list[float]) -> dict[str, float]:
    """What a histogram with the same buckets says after ``observe`` one by one."""
    reference = Histogram("reference", "", buckets=metrics._LATENCY, registry=CollectorRegistry())
    for value in seconds:
        reference.observe(value)
    samples = {
        s.labels.get("le", s.name): s.value
        for s in next(iter(reference.collect())).samples
        if s.name.endswith(("_bucket", "_sum"))
    }
    samples["sum"] = samples.pop("reference_sum")
    keep = ("0.001", "0.0025", "0.005", "0.025", "1.0", "30.0", "+Inf", "sum")
    return {k: samples[k] for k in keep}


async def test_counted_when_the_batch_is_due_as_observed_one_by_one(monkeypatch) -> None:
    monkeypatch.setattr(metrics, "FLUSH_AFTER", 0.0)  # due at the next turn of the loop
    metrics._made()
    before = _value(
        "ils_gateway_http_requests_total", route="batched", tenant="batch", status="200"
    )
    for value in SECONDS:
        metrics.request_done("batched", "batch", 200, value)
    metrics.cache_lookup("batch", "ils", True)
    metrics.cache_lookup("batch", "ils", True)
    metrics.cache_lookup("batch", "ils", False)
    # not yet in the families: batched until the flush is due
    assert (
        _value("ils_gateway_http_requests_total", route="batched", tenant="batch", status="200")
        == before
    )
    # a timer due now as well: the task resumes after every timer due in that turn has run
    due = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.0, due.set_result, None)
    await due
    after = _value("ils_gateway_http_requests_total", route="batched", tenant="batch", status="200")
    assert after == before + len(SECONDS)
    assert _histogram("batched") == _expected(SECONDS)
    hits = {"tenant": "batch", "system": "ils"}
    assert _value("ils_gateway_cache_requests_total", **hits, result="hit") == 2
    assert _value("ils_gateway_cache_requests_total", **hits, result="miss") == 1


async def test_metrics_read_within_the_turn_see_every_request_answered() -> None:
    metrics.request_done("read_now", "batch", 404, 0.002)
    text = metrics.render().decode()  # /metrics: flushes first
    assert 'route="read_now",status="404",tenant="batch"} 1.0' in text


def test_outside_an_event_loop_counted_at_once() -> None:
    for value in SECONDS:
        metrics.request_done("no_loop", "batch", 200, value)
    metrics.cache_lookup("batch-no-loop", "ils", False)
    assert _value(
        "ils_gateway_http_requests_total", route="no_loop", tenant="batch", status="200"
    ) == len(SECONDS)
    assert _histogram("no_loop") == _expected(SECONDS)
    labels = {"tenant": "batch-no-loop", "system": "ils", "result": "miss"}
    assert _value("ils_gateway_cache_requests_total", **labels) == 1


def test_counts_of_a_loop_that_ended_before_its_flush_go_with_the_next_loops(
    monkeypatch,
) -> None:
    async def answered(count: int) -> None:
        for _ in range(count):
            metrics.request_done("loop_ended", "batch", 200, 0.002)

    async def answered_then_flushed(count: int) -> None:
        await answered(count)
        due = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.0, due.set_result, None)
        await due

    labels = {"route": "loop_ended", "tenant": "batch", "status": "200"}
    before = _value("ils_gateway_http_requests_total", **labels)
    monkeypatch.setattr(metrics, "FLUSH_AFTER", 3600.0)
    asyncio.run(answered(2))  # its flush never comes: the loop ends first
    monkeypatch.setattr(metrics, "FLUSH_AFTER", 0.0)
    asyncio.run(answered_then_flushed(3))  # a new loop schedules its own flush
    assert _value("ils_gateway_http_requests_total", **labels) == before + 5
