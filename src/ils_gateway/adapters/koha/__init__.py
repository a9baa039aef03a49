"""Koha REST API (v1) adapter: ``backend.KohaBackend`` over ``client.KohaClient``.

Import from the submodules: ``config`` (settings), ``auth`` (OAuth2 / Basic), ``client``
(HTTP policy), ``errors`` (the one translator), ``schemas`` (Koha's JSON), ``mapping``
(Koha words to canonical ones) and ``backend`` (the ILSBackend).
"""
