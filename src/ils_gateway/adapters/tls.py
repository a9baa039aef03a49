"""The TLS context every outbound HTTP client of the gateway shares (issue 17, start-up).

httpx builds a context per client by default and loads the whole trust store into it there
(certifi's bundle: about 30 ms of CPU each), so a start with an e-library client and an SRU
catalogue paid it twice before serving, even when every backend is plain http (the demo, the
simulators). ``client_tls()`` is one context for the process, verifying as httpx's default
does (certificate required, host name checked; the bundle named by ``SSL_CERT_FILE`` or
``SSL_CERT_DIR`` if set, else certifi's), whose trust store is loaded at its first handshake.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
from typing import Any

_LOADING = threading.Lock()


class LazyTrustContext(ssl.SSLContext):
    """A client context whose CA certificates are loaded before its first TLS connection.

    Every handshake goes through ``wrap_bio`` (asyncio, anyio) or ``wrap_socket`` (blocking
    clients); both load the trust store first, so none runs without it.
    """

    _trust_loaded = False

    def load_trust(self) -> None:
        """Load the trust store (once; later calls do nothing)."""
        with _LOADING:
            if self._trust_loaded:
                return
            if cafile := os.environ.get("SSL_CERT_FILE"):
                self.load_verify_locations(cafile=cafile)
            elif capath := os.environ.get("SSL_CERT_DIR"):
                self.load_verify_locations(capath=capath)
            else:
                import certifi  # httpx's own dependency and default bundle

                self.load_verify_locations(cafile=certifi.where())
            self._trust_loaded = True

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self.load_trust()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.load_trust()
        return super().wrap_socket(*args, **kwargs)


@functools.cache
def client_tls() -> ssl.SSLContext:
    """The process's client TLS context (``verify=`` of every httpx client the gateway makes)."""
    context = LazyTrustContext(ssl.PROTOCOL_TLS_CLIENT)  # certificate required, host checked
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context
