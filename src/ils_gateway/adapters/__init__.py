"""Backend ports and adapters: ``base`` declares ``ILSBackend`` and capabilities; one module per
backend (``sip2``, ``koha``, ``folio``) implements it; ``resilience`` wraps any of them.
"""
