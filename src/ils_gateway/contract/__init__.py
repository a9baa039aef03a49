"""Contract tests operators run against their own backend: ``ils-gateway contract-test``.

The checks themselves are pytest tests in the repository's ``contract_tests/``; this package
holds what they and the command share: the target (a tenant's backends, opened on a loop of
their own), the embedded demo target, the undo log of write checks, the reporter plugin that
prints progress and the table of checks, and the runner behind the command.
"""
