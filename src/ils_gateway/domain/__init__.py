"""Domain types shared by every layer: vocabularies, models, errors, labels. No I/O.

Import from the submodules (``ils_gateway.domain.vocab`` …); nothing is re-exported here.
"""
