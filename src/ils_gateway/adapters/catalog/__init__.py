"""Catalogue sources (issue 19): the port (``port``), an SRU client with MARCXML records
(``sru``, ``marc``); Koha's and FOLIO's searches live with their adapters (``koha.catalog``,
``folio.catalog``) and SIP2's copy statuses with the SIP2 adapter (``item_copies``)."""
