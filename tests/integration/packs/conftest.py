"""The gateway fixture (``api``) of the gateway tests, for the routes of issue 8."""

from tests.integration.gateway.conftest import api  # noqa: F401
