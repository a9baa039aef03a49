"""SIP2 2.00 adapter: ``backend.Sip2Backend`` over the client pool of ``ils_gateway.sip2.client``.

Import from the submodules: ``config`` (tenant settings → pool settings), ``capabilities``
(what the ACS's BX flags allow), ``refusals`` (the AF pattern table), ``mapping`` (64/18/30/16/66
answers → domain models), ``errors`` (the one translator of pool failures) and ``backend``.
"""
