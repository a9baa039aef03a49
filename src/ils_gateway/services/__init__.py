"""Use cases: the tenant's rules applied around calls to the backend.

``context`` (``TenantContext``, ``Caller``), ``rules`` (pure rule functions), and one module
per area: ``account``, ``loans``, ``holds``, ``catalog``, ``barcode``. Import from the
submodules. Services raise ``ils_gateway.domain.errors`` only; ``api/`` renders them.
"""
