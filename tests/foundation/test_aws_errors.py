"""``medialayer.aws_errors.is_transient_aws_error``: which AWS failures are worth a retry (503) (F5)."""

from __future__ import annotations

import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from medialayer.aws_errors import THROTTLING_CODES, UNAVAILABLE_CODES, is_transient_aws_error


def _client_error(code: str, status: int | None = 400, op: str = "PutObject") -> ClientError:
    response: dict = {"Error": {"Code": code, "Message": f"{code} happened"}}
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, op)


def _raised_while_handling(inner: BaseException, outer: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException:
            raise outer  # noqa: B904 - implicit chaining (__context__) is the point
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SlowDown", 503),
        ("RequestLimitExceeded", 400),
        ("ServiceUnavailable", 503),
        ("InternalError", 500),
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("Throttling", 400),
        ("TooManyRequestsException", 429),
        ("InternalServerError", 500),
        ("RequestTimeout", 400),
    ],
)
def test_throttling_and_service_errors_are_transient(code: str, status: int) -> None:
    assert is_transient_aws_error(_client_error(code, status))
    assert is_transient_aws_error(_client_error(code, None)), "the code alone decides"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_unknown_code_with_a_transient_status_is_transient(status: int) -> None:
    assert is_transient_aws_error(_client_error("SomethingNew", status))


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDenied", 403),
        ("AccessDeniedException", 400),
        ("NoSuchBucket", 404),
        ("NoSuchKey", 404),
        ("ResourceNotFoundException", 400),
        ("ValidationException", 400),
        ("InvalidAccessKeyId", 403),
        ("ConditionalCheckFailedException", 400),
        ("", None),
    ],
)
def test_client_errors_are_not_transient(code: str, status: int | None) -> None:
    assert not is_transient_aws_error(_client_error(code, status))


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="https://s3.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://s3.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://s3.amazonaws.com"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_connection_errors_are_transient(exc: Exception) -> None:
    assert is_transient_aws_error(exc)


@pytest.mark.parametrize(
    "exc",
    [
        NoCredentialsError(),
        ParamValidationError(report="bad"),
        ValueError("invalid staging key"),
        OSError(28, "No space left on device"),
        RuntimeError("boom"),
        KeyError("runs/x"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_other_errors_are_not_transient(exc: Exception) -> None:
    assert not is_transient_aws_error(exc)


def test_wrappers_are_judged_by_the_aws_error_they_wrap() -> None:
    """boto3's ``upload_file`` raises ``S3UploadFailedError`` while handling the ``ClientError``."""
    wrapped = _raised_while_handling(_client_error("SlowDown", 503), S3UploadFailedError("Failed to upload"))
    assert is_transient_aws_error(wrapped)
    denied = _raised_while_handling(_client_error("AccessDenied", 403), S3UploadFailedError("Failed to upload"))
    assert not is_transient_aws_error(denied)
    explicit = RuntimeError("wrapped")
    explicit.__cause__ = EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")
    assert is_transient_aws_error(explicit)
    # an AWS error decides for itself, whatever it was raised while handling
    assert not is_transient_aws_error(
        _raised_while_handling(_client_error("SlowDown", 503), _client_error("AccessDenied", 403))
    )


def test_code_lists_are_disjoint_from_misconfigurations() -> None:
    for code in ("AccessDenied", "AccessDeniedException", "NoSuchBucket", "ResourceNotFoundException"):
        assert code not in THROTTLING_CODES | UNAVAILABLE_CODES
