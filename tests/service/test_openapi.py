"""The OpenAPI document is complete, and the API honours it under generated input."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from ocr_service.main import create_app
from tests.service.conftest import HEADERS

EXPECTED_PATHS = {
    "/v1/id-verifications": {"post"},
    "/v1/id-verifications/{verification_id}": {"get"},
    "/v1/id-verifications/{verification_id}/withdraw": {"post"},
    "/v1/certificates/validate": {"post"},
    "/v1/certificate-batches": {"post"},
    "/v1/certificate-batches/{batch_id}": {"get"},
    "/v1/certificate-batches/{batch_id}/report.csv": {"get"},
    "/v1/certificate-batches/{batch_id}/files/{index}/fixed": {"get"},
    "/v1/certificate-batches/{batch_id}/fixed.zip": {"get"},
    "/healthz": {"get"},
    "/livez": {"get"},
    "/readyz": {"get"},
    "/metrics": {"get"},
}


@pytest.fixture
def spec(make_settings, ocr_engine) -> dict:  # type: ignore[no-untyped-def]
    return create_app(make_settings(), engine=ocr_engine, configure_logs=False).openapi()


def test_every_path_and_method_is_documented(spec) -> None:  # type: ignore[no-untyped-def]
    assert {p: set(ops) for p, ops in spec["paths"].items()} == EXPECTED_PATHS


def test_every_response_has_a_schema_and_errors_share_one(spec) -> None:  # type: ignore[no-untyped-def]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (path, method)
            for status, response in op["responses"].items():
                content = response.get("content")
                assert content, (path, method, status)
                for media in content.values():
                    assert media.get("schema"), (path, method, status)
                if status.startswith(("4", "5")):
                    assert content["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorResponse"
                    }
            if path.startswith("/v1/"):
                assert "401" in op["responses"] and op.get("security"), (path, method)
    upload = spec["paths"]["/v1/id-verifications"]["post"]["requestBody"]["content"][
        "multipart/form-data"
    ]
    assert set(upload["schema"]["required"]) == {
        "front",
        "back",
        "declared_name",
        "declared_id_number",
    }
    assert "202" in spec["paths"]["/v1/id-verifications"]["post"]["responses"]


@pytest.fixture
def api_app(make_settings, ocr_engine):  # type: ignore[no-untyped-def]
    app = create_app(
        make_settings(
            requests_per_minute_per_key=100_000,
            requests_per_minute_per_client=100_000,
            failures_per_requester=100_000,
            failures_per_api_key=100_000,
        ),
        engine=ocr_engine,
        configure_logs=False,
    )
    with TestClient(app):
        yield app


def test_generated_requests_never_get_a_5xx(api_app) -> None:  # type: ignore[no-untyped-def]
    """Property-based (Schemathesis strategies driven by Hypothesis): generated requests
    against every operation; no server error, and responses conform to the documented
    schemas, status codes and content types. Positive and negative generation, bounded:
    15 examples per operation and mode."""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable

    api_schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == sum(len(m) for m in EXPECTED_PATHS.values())
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    for operation, mode in [(op, mode) for op in operations for mode in modes]:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            # A schema cannot say "a JPEG of an ID card", so schema-valid random bytes are
            # rightly refused (415/422): the positive-acceptance check does not apply. The
            # negative-rejection check does not count 413 (too many parts) as a rejection;
            # not_a_server_error still applies to every case.
            response = case.call_and_validate(
                headers=HEADERS,
                excluded_checks=[
                    schemathesis.checks.positive_data_acceptance,
                    schemathesis.checks.negative_data_rejection,
                ],
            )
            assert response.status_code < 500
            assert response.headers.get("x-request-id")

        try:
            run()
        except Unsatisfiable:
            assert mode is schemathesis.GenerationMode.NEGATIVE  # nothing to negate (no inputs)
