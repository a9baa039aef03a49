"""The boolean frame of CQL both simulated servers parse: tokens, ``and``/``or``/``not`` (left to
right, as CQL's grammar has no precedence between them) and parentheses. Each server says what
a search clause means (``clause``) and how it reports a syntax error (``error``): the FOLIO
simulator over JSON records (``folio_cql``), the SRU simulator over catalogue rows (``sru``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
Token = tuple[str, str]


class CqlParser:
    """A recursive-descent parser over ``tokens`` (kinds ``lp``, ``rp``, ``rel``, ``q``, ``w``)."""

    #: What ``take`` says when the query ends too soon.
    end_of_query = "unexpected end of query"

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def error(self, detail: str) -> Exception:
        """The server's syntax error for ``detail``."""
        raise NotImplementedError

    def clause(self, kind: str, value: str) -> Predicate:
        """A search clause starting with the token (``kind``, ``value``)."""
        raise NotImplementedError

    @staticmethod
    def tokenize(
        text: str, token: re.Pattern[str], error: Callable[[str], Exception]
    ) -> list[Token]:
        """The tokens of ``text`` (``token``'s named groups); ``error(rest)`` at the first
        character no token matches."""
        out: list[Token] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = token.match(text, pos)
            if m is None or m.end() == pos:
                raise error(text[pos : pos + 20])
            pos = m.end()
            kind = m.lastgroup or ""
            out.append((kind, m.group(kind)))
        return out

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.error(self.end_of_query)
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "w" and token[1].lower() == word:
            self.pos += 1
            return True
        return False

    def query(self) -> Predicate:
        left = self.term()
        while True:
            if self.keyword("and"):
                right = self.term()
                left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
            elif self.keyword("or"):
                right = self.term()
                left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
            elif self.keyword("not"):
                right = self.term()
                left = (lambda a, b: lambda r: a(r) and not b(r))(left, right)
            else:
                return left

    def term(self) -> Predicate:
        kind, value = self.take()
        if kind == "lp":
            inner = self.query()
            if self.take()[0] != "rp":
                raise self.error("missing )")
            return inner
        return self.clause(kind, value)
