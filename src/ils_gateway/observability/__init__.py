"""Metrics (Prometheus) and traces (OpenTelemetry) of the gateway (issue 17).

A bottom module like ``domain``: it imports nothing of ours, so every layer (the SIP2 client
pool, the resilience layer, the login guard's service, the jobs, the API) may count into it.
``metrics`` is imported by the code that counts; ``tracing`` costs nothing until configured;
``multiprocess`` prepares the directory prometheus-client's multi-process mode writes to.
"""
