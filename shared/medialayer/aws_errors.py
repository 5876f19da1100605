"""Which AWS SDK failures are transient (retry later: ``503 overloaded``) and which are not (``500``).

One classification for every place that calls S3 or DynamoDB on a request's path (video staging in
``video_match.fanout``, the enterprise key look-up in :mod:`medialayer.auth`), so a throttled or
unavailable dependency is answered the same way everywhere: :class:`~medialayer.errors.Overloaded`
with ``Retry-After``. A misconfiguration (``AccessDenied``, ``NoSuchBucket``, a missing table) is not
transient and stays an internal error. The rate-limit counters are stricter still: they fail closed on
*any* error (:mod:`medialayer.ratelimit`).

The codes follow botocore's own retry classification (``botocore.retries.standard``): by the time an
error reaches us the client's retries are already spent, so these are the failures worth retrying later.
"""

from __future__ import annotations

THROTTLING_CODES: frozenset[str] = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
"""Error codes AWS services use for "too many requests" (S3 ``SlowDown``, DynamoDB's throughput...)."""

UNAVAILABLE_CODES: frozenset[str] = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
"""Error codes for a service-side failure or time-out (S3 ``InternalError``, DynamoDB
``InternalServerError``...)."""

TRANSIENT_STATUS_CODES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses of an AWS error response that mean "try again later", whatever the code."""

_MAX_CHAIN = 8


def _verdict(exc: BaseException) -> bool | None:
    """True/False for a botocore error (judged by itself), None for anything else (maybe a wrapper)."""
    try:
        from botocore.exceptions import BotoCoreError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError
    except ImportError:  # pragma: no cover - boto3 is a runtime dependency
        pass
    else:
        # EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError, SSLError (ConnectionError);
        # ReadTimeoutError, ConnectionClosedError, ResponseStreamingError (HTTPClientError).
        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            return True
        if isinstance(exc, BotoCoreError):  # NoCredentialsError, ParamValidationError...: not transient
            return False
    response = getattr(exc, "response", None)  # botocore ClientError
    if not isinstance(response, dict):
        return None
    error = response.get("Error")
    code = str(error.get("Code", "")) if isinstance(error, dict) else ""
    if code in THROTTLING_CODES or code in UNAVAILABLE_CODES:
        return True
    metadata = response.get("ResponseMetadata")
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
    return status in TRANSIENT_STATUS_CODES


def is_transient_aws_error(exc: BaseException) -> bool:
    """True when ``exc`` is an AWS failure worth retrying later: throttling, a 5xx/429 answer, or no
    connection to (or no timely answer from) the endpoint.

    ``exc`` is a botocore ``ClientError`` (judged by its error code and HTTP status), a botocore
    connection/HTTP error (``EndpointConnectionError``, ``ConnectTimeoutError``, ``ReadTimeoutError``,
    ...), or anything raised while handling one: wrappers such as boto3's ``S3UploadFailedError`` (which
    ``upload_file`` raises in place of the ``ClientError``) are judged by their ``__cause__`` /
    ``__context__``, the first AWS error in that chain deciding. Everything else, including
    ``AccessDenied``, ``NoSuchBucket`` and ``ResourceNotFoundException``, is not transient.
    """
    current: BaseException | None = exc
    for _ in range(_MAX_CHAIN):
        if current is None:
            break
        verdict = _verdict(current)
        if verdict is not None:
            return verdict
        current = current.__cause__ or current.__context__
    return False
