"""Every test here runs with the compiled and with the pure-Python SIP2 parser helpers."""

from sip2_speedups import sip2_speedups

__all__ = ["sip2_speedups"]
