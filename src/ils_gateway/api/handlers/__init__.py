"""Thin handlers: parse the request, call one service, serialise the answer."""
