"""Simulated backends for demos and contract tests. Import from the submodules.

``library`` is the protocol-free simulated ILS (house rules in ``policy``, records in
``records``, answers in ``outcomes``, seeded data in ``sample_data``); the SIP2 and Koha
faces sit on top of it; ``elibrary`` is the e-library simulator.
"""
