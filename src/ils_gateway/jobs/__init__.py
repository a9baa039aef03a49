"""Periodic jobs: reading-history capture, cancelled-hold purge, hold-sequence enforcement.

Each job is one async function taking what it needs (store, tenants, backends, a clock) and
returning a small report; ``runner.every`` repeats one on an interval until stopped. Jobs that
act per patron (history capture, sequences) need the patron's card to ask the library system;
the store keeps only a keyed hash of it, so they work over a ``PatronRoster`` of patrons who
opted in (see ``ils_gateway.services.mylists.roster``).
"""
