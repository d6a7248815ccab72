"""Fixtures for the service tests: settings in a temporary data dir, an app on the
embedded default with the real engine, and real Redis / PostgreSQL servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ocr_service.config import Settings
from ocr_service.main import create_app
from tests.service.support import PostgresCluster, RedisServer, have_postgres, have_redis

API_KEY = "test-key-0123456789abcdef"
SECRET = "s" * 8 + "-test-secret-with-enough-entropy-0123456789"
HEADERS = {"X-API-Key": API_KEY}


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "secret_key": SECRET,
            "api_keys": f"tester:{API_KEY}",
            "log_level": "INFO",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def client_for(ocr_engine) -> Iterator[Callable[..., TestClient]]:  # type: ignore[no-untyped-def]
    """Start an app (embedded queue, real engine unless given) and hand back its client."""
    opened: list[TestClient] = []

    def open_client(settings: Settings, engine: Any = None) -> TestClient:
        app = create_app(settings, engine=engine or ocr_engine, configure_logs=False)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        assert client.get("/healthz").status_code == 200
        return client

    yield open_client
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_for, make_settings) -> TestClient:  # type: ignore[no-untyped-def]
    return client_for(make_settings())


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if not have_redis():
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    if not have_postgres():
        pytest.skip("PostgreSQL binaries are not installed")
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> str:
    return pg_cluster.create_database()
