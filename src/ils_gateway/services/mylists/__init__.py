"""What the library system cannot keep: basket, hold sequences, hold extras, cancelled-hold
history, bookshelves, reading history and patron settings.

Each module is one service over the gateway store (``ils_gateway.store``) and, where holds are
involved, the tenant's ``ILSBackend``. Every call takes a ``PatronContext`` (tenant, patron,
their store reference and the channel), so nothing can cross tenants or patrons. Import from
the submodules; this package re-exports nothing.
"""
