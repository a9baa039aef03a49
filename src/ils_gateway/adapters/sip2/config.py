"""Settings for one ACS: the tenant file's ``kind = "sip2"`` backend, as the pool wants them.

The model is the tenant loader's (``ils_gateway.tenants.backends.Sip2Backend``); this module
turns it into ``SIP2ClientSettings`` for the pool. Fields the adapter reads itself:
``list_mode`` (what AS/AT/AU/CD entries hold), ``refusal_patterns`` (the AF table, over the
defaults of ``refusals``), ``institution_id`` (AO) and ``terminal_password`` (AC).
"""

from __future__ import annotations

from ils_gateway.sip2.checksum import ChecksumBasis
from ils_gateway.sip2.client import ClientTimeouts, SIP2ClientSettings, TLSSettings
from ils_gateway.tenants.backends import Sip2Backend as Sip2BackendConfig

__all__ = ["Sip2BackendConfig", "client_settings", "title_list_fields"]


def client_settings(config: Sip2BackendConfig) -> SIP2ClientSettings:
    """The client pool's settings for ``config``."""
    tls = None
    if config.tls is not None and config.tls.enabled:
        tls = TLSSettings(
            ca_file=config.tls.ca_file,
            cert_file=config.tls.cert_file,
            key_file=config.tls.key_file,
            verify=config.tls.verify,
            server_hostname=config.tls.server_hostname,
        )
    return SIP2ClientSettings(
        host=config.host,
        port=config.port,
        tls=tls,
        login_user=config.login_user,
        login_password=(
            config.login_password.get_secret_value() if config.login_password is not None else ""
        ),
        location_code=config.location,
        institution_id=config.institution_id,
        terminal_password=(
            config.terminal_password.get_secret_value()
            if config.terminal_password is not None
            else ""
        ),
        language=config.language,
        encoding=config.encoding,
        error_detection=config.error_detection,
        checksum_basis=(
            ChecksumBasis.CHARACTERS if config.checksum_basis == "chars" else ChecksumBasis.BYTES
        ),
        terminator=config.terminator_text,
        timeouts=ClientTimeouts(
            connect=config.timeouts.connect,
            request=config.timeouts.read,
            pool=config.timeouts.pool,
        ),
        pool_size=config.pool_size,
        free_text_fields=title_list_fields(config),
        log_frames=config.log_frames,
    )


# The 64's list fields; AS and CD (holds) also list titles for holds with no copy yet.
_LIST_FIELDS = frozenset({"AS", "AT", "AU", "AV", "BU", "CD"})
_HOLD_LIST_FIELDS = frozenset({"AS", "CD"})


def title_list_fields(config: Sip2BackendConfig) -> frozenset[str]:
    """The list fields whose entries carry titles on this ACS, decoded leniently like titles
    (a legacy byte in an old record's title must not fail the whole list): every list when
    ``list_mode`` is ``title`` or ``item_id_title``; else AS and CD, where a hold with no copy
    yet is listed by its title (``title_hold_entries``). AU and AT of an ACS that lists
    barcodes stay strict ids."""
    if config.list_mode != "item_id":
        return _LIST_FIELDS
    return _HOLD_LIST_FIELDS
