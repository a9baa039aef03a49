"""E-books in the gateway: the e-library's loans and holds beside the ILS's.

``service`` holds the e-book use cases (lists, borrow, early return, holds, title availability)
with the tenant's e-book limits checked before asking the e-library; ``merge`` turns e-book
loans and holds into the canonical ``Loan``/``Hold`` (``source = ebook``) and merges them into
the ILS lists, marking the e-book part unavailable rather than failing the page; ``bridge``
answers the e-library's "is this card + password a valid patron?". Each tenant's e-library is
opened by ``ils_gateway.runtime`` (``runtime.elibrary``), which builds these services over it.
"""
