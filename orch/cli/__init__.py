"""The ``orch`` command line."""
