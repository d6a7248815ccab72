"""The fault tests reuse the service tests' real servers and fixtures."""

from tests.service.conftest import (  # noqa: F401  (fixtures)
    client_for,
    make_settings,
    pg_cluster,
    pg_url,
    redis_server,
)
from tests.service.test_production import deployment  # noqa: F401  (fixture)
