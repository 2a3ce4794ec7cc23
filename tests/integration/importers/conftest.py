"""The gateway fixture of the gateway tests, for the SCO import's tests."""

from tests.integration.gateway.conftest import api

__all__ = ["api"]
