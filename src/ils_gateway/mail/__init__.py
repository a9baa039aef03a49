"""Patron mail (issue 18): the outbox, templates, SMTP sending and the drainer.

- ``mail.outbox``: ``Outbox`` / ``TenantOutbox``, what the rest of the gateway calls to queue a
  mail for an event (deduplicated per tenant: one event is mailed once, whatever the number of
  processes that see it). Rows live in the store (``store.outbox``).
- ``mail.templates``: jinja2 templates per event, Japanese and English, with each library's
  wording; a tenant may override them from a directory.
- ``mail.message``: a rendered mail as a MIME message (UTF-8 or ISO-2022-JP).
- ``mail.smtp``: sending with aiosmtplib (TLS, STARTTLS, auth).
- ``mail.drain``: ``drain_outbox`` claims due mails, sends them, retries with backoff.
- ``mail.cli``: ``ils-gateway mail status|failed|retry|drain``.

Layer: above the store and the tenant configuration, below the services (which queue mails)
and the runtime (which wires the outbox in). See docs/mail.md.
"""
