"""Tenant configuration: one library's backend connection, e-library, policy and labels.

``models`` describes the TOML file, ``backends``, ``policy`` and ``kiosk`` (the SIP2 face for
self-check machines) its parts, ``loader`` reads it (``load_tenants``) and ``demo`` holds the
built-in demo tenant. Import from the submodules.
"""
