"""The old path of :mod:`django_aws_api_gateway_websockets.testing.local_gateway` (what the
``local_gateway`` fixture returns), kept for projects that import it."""

from ..testing.local_gateway import (
    TEST_BACKEND_CONCURRENCY,
    LocalGatewayFixture,
    default_test_limits,
)

__all__ = ["TEST_BACKEND_CONCURRENCY", "LocalGatewayFixture", "default_test_limits"]
