"""Notices to patrons (issue 18): hold ready, due-date reminder, overdue, e-book hold ready,
child entry at a kiosk, address change confirmation; the staff's phone call list; the
patron's notice preferences. ``NoticeService`` (one per tenant) decides; the mail outbox
(``mail.outbox``) sends; the store's ledger (``store.notices``) keeps each event noticed once.
See docs/notices.md."""
