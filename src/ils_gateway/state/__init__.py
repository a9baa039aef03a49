"""Shared state for many processes: patron sessions, Idempotency-Keys, rate limits.

Each in memory (one process) or in Redis (many processes behind a load balancer). Below the
services: imports ``domain`` only. ``runtime`` opens them (one Redis client per process).
"""
