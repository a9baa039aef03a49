"""The one composition root: what exists at run time, built in one place.

- ``settings``: ``GatewaySettings`` (frozen): tenants, limits, Redis, store, and the seams tests
  replace (backend factory and wrapper, clock).
- ``backends``: one builder per backend kind, and the resilience wrapper around each adapter.
- ``elibrary``: a tenant's e-library (the KinoDen adapter, or the simulator started in-process).
- ``store``: ``StoreSettings`` and ``open_mylists`` (the gateway store and its list services).
- ``shared``: the process-wide shared state (sessions, Idempotency-Keys, read caches, the
  bridge's rate limits) over ONE Redis client, or in memory.
- ``tenant``: ``TenantRuntime`` (one tenant's use cases) and ``Gateway`` (every tenant's, by id).
- ``assemble``: ``open_gateway(settings, shared)`` builds every tenant's runtime.
- ``contexts``: the aiohttp cleanup contexts, one per process-wide resource, and ``install``.
- ``keys``: the AppKeys the faces read the runtime from.
- ``demo``: the embedded demo (SIP2 simulator over the sample library + the demo tenant).
- ``health``: the readiness probe of a tenant's backend.

Faces (``api``, ``kiosk``, ``jobs``, ``contract``) receive a ``TenantRuntime`` or the
``Gateway`` from here and only translate; nothing here imports a face.
"""
