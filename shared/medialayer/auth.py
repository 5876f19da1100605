"""Who is calling, and may they? Deny unless a credential matches.

Decision order in :meth:`Authorizer.authorize`:

1. **Demo route** (``demo=True``): no credential; limited per client IP
   (``demo_requests_per_window`` per ``demo_window_s``; IPv6 clients are counted per /64). Other
   headers are ignored.
2. **Enterprise key** (``X-API-Key`` present): must be a well-formed, known, unrevoked key; its own
   fixed-window limit applies. A bad key is 401 even if other credentials are present. If the key store
   cannot be read the request is refused: ``503 overloaded`` when the failure is transient (throttling,
   a 5xx, no connection: :func:`medialayer.aws_errors.is_transient_aws_error`), else ``500``.
3. **RapidAPI** (proxy secrets configured): ``X-RapidAPI-Proxy-Secret`` must equal one of the configured
   secrets (``hmac.compare_digest`` against every candidate; two are valid during rotation). RapidAPI
   enforces its plans' quotas itself.
4. **auth_disabled** (opt-in, local only, logged loudly): credential-less requests pass as
   ``anonymous`` - only when no proxy secret is configured; a presented credential is still checked.
5. Otherwise 401.

Secrets come from ``MEDIALAYER_RAPIDAPI_PROXY_SECRETS`` and/or the Secrets Manager secret / SSM parameter
named by ``MEDIALAYER_RAPIDAPI_SECRET_NAME`` (``ssm:/path`` for SSM), fetched through powertools'
parameters providers and cached ``rapidapi_secret_max_age_s``. The stored value is one secret or several
separated by commas. If the secret cannot be fetched the request is refused (fail closed).
No secret or key is ever logged; a :class:`Principal` carries only public ids.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from medialayer.aws_errors import is_transient_aws_error
from medialayer.errors import InternalError, Overloaded, Unauthorized
from medialayer.keys import DynamoKeyStore, FileKeyStore, KeyStore, MemoryKeyStore, hash_key, looks_like_key
from medialayer.ratelimit import (
    Clock,
    CounterStore,
    DynamoCounterStore,
    MemoryCounterStore,
    RateLimiter,
)
from medialayer.settings import Settings

log = logging.getLogger("medialayer.auth")

PROXY_SECRET_HEADER = "x-rapidapi-proxy-secret"
RAPIDAPI_USER_HEADER = "x-rapidapi-user"
API_KEY_HEADER = "x-api-key"
#: A 401 names the headers it wanted (as clients spell them).
_MISSING = (
    "Missing credentials: send an X-API-Key header (enterprise key), "
    "or call through RapidAPI (X-RapidAPI-Proxy-Secret)."
)
_MAX_ID_LEN = 128


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. ``id`` is public (user, key id, client IP), never a secret."""

    kind: Literal["rapidapi", "enterprise", "demo", "anonymous"]
    id: str


def split_secrets(value: str | bytes | None) -> tuple[str, ...]:
    """Comma-separated secrets -> tuple, blanks dropped."""
    if value is None:
        return ()
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return tuple(part.strip() for part in value.split(",") if part.strip())


class ProxySecretSource:
    """The currently valid RapidAPI proxy secrets: static ones plus an optional AWS-stored value.

    ``fetch(name)`` returns the stored string; it is called on every request and must cache (powertools
    providers do, via ``max_age``).
    """

    def __init__(
        self,
        static: tuple[str, ...] = (),
        name: str = "",
        fetch: Callable[[str], str | bytes | None] | None = None,
    ) -> None:
        if name and fetch is None:
            raise ValueError("a secret name needs a fetch function")
        self._static = static
        self._name = name
        self._fetch = fetch

    @property
    def configured(self) -> bool:
        """True when RapidAPI auth is on (any secret configured or a secret name given)."""
        return bool(self._static or self._name)

    def current(self) -> tuple[str, ...]:
        """All secrets valid now. Raises :class:`InternalError` if the stored secret can't be read."""
        if not self._name:
            return self._static
        assert self._fetch is not None
        try:
            fetched = split_secrets(self._fetch(self._name))
        except Exception:
            log.exception("could not read the RapidAPI proxy secret %r; refusing requests", self._name)
            raise InternalError("Authentication is temporarily unavailable.") from None
        return self._static + fetched


def powertools_fetcher(name: str, max_age_s: int, boto3_session: Any | None = None) -> Callable[[str], Any]:
    """A cached fetch function for ``name``: SSM (``ssm:`` prefix, decrypted) or Secrets Manager."""
    from aws_lambda_powertools.utilities import parameters

    if name.startswith("ssm:"):
        ssm = parameters.SSMProvider(boto3_session=boto3_session)
        return lambda n: ssm.get(n.removeprefix("ssm:"), max_age=max_age_s, decrypt=True)
    secrets_provider = parameters.SecretsProvider(boto3_session=boto3_session)
    return lambda n: secrets_provider.get(n, max_age=max_age_s)


def _printable(value: str) -> str:
    """A header value safe to log as an id: printable ASCII only, trimmed."""
    return "".join(ch for ch in value if " " <= ch <= "~").strip()


def _normalise(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _matches_any(presented: str, candidates: tuple[str, ...]) -> bool:
    """Constant-time comparison against every candidate (no early exit)."""
    given = presented.encode("utf-8")
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(given, candidate.encode("utf-8"))
    return found


def client_bucket(client_ip: str) -> str:
    """The rate-limit identity of a client address: the IPv4 address, or the IPv6 /64 it is in."""
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return client_ip.strip()[:_MAX_ID_LEN] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class Authorizer:
    """Decides who a request is from and applies rate limits. Build with :func:`build_authorizer`."""

    def __init__(
        self,
        *,
        proxy_secrets: ProxySecretSource,
        keys: KeyStore,
        limiter: RateLimiter,
        key_pepper: str,
        demo_limit: int,
        demo_window_s: int,
        auth_disabled: bool = False,
    ) -> None:
        self._proxy = proxy_secrets
        self._keys = keys
        self._limiter = limiter
        self._pepper = key_pepper
        self._demo_limit = demo_limit
        self._demo_window_s = demo_window_s
        self._auth_disabled = auth_disabled and not proxy_secrets.configured
        if auth_disabled and proxy_secrets.configured:
            log.warning("MEDIALAYER_AUTH_DISABLED ignored: a RapidAPI proxy secret is configured.")
        elif auth_disabled:
            log.warning("AUTH DISABLED: requests without credentials are accepted as 'anonymous'.")

    def authorize(self, headers: Mapping[str, str], client_ip: str, *, demo: bool) -> Principal:
        """Return the caller, or raise ``Unauthorized`` (401) / ``RateLimited`` (429) / ``Overloaded`` (503,
        a store is throttled or down) / ``InternalError`` (500, the key store is misconfigured)."""
        if demo:
            return self._demo(client_ip)
        h = _normalise(headers)
        if API_KEY_HEADER in h:
            return self._enterprise(h[API_KEY_HEADER])
        presented = h.get(PROXY_SECRET_HEADER)
        if self._proxy.configured or presented is not None:
            return self._rapidapi(presented, h.get(RAPIDAPI_USER_HEADER, ""))
        if self._auth_disabled:
            return Principal("anonymous", "anonymous")
        raise Unauthorized(_MISSING)

    def _demo(self, client_ip: str) -> Principal:
        bucket = client_bucket(client_ip)
        self._limiter.hit(f"demo:{bucket}", self._demo_limit, self._demo_window_s)
        return Principal("demo", bucket)

    def _enterprise(self, presented: str) -> Principal:
        presented = presented.strip()
        if not looks_like_key(presented):
            raise Unauthorized("Invalid API key in the X-API-Key header.")
        try:
            record = self._keys.get(hash_key(presented, self._pepper))
        except Exception as exc:  # fail closed; throttling or an outage is worth a retry (503)
            if is_transient_aws_error(exc):
                log.warning("key store lookup failed (transient); refusing the request: %r", exc)
                raise Overloaded("Authentication is temporarily unavailable; retry shortly.") from None
            log.exception("key store lookup failed; refusing the request")
            raise InternalError("Authentication is temporarily unavailable.") from None
        if record is None or record.revoked:
            raise Unauthorized("Invalid API key in the X-API-Key header.")
        self._limiter.hit(f"key:{record.key_id}", record.limit_per_window, record.window_s)
        return Principal("enterprise", record.key_id)

    def _rapidapi(self, presented: str | None, user: str) -> Principal:
        if not presented:
            raise Unauthorized(_MISSING)
        candidates = self._proxy.current()
        if not candidates or not _matches_any(presented, candidates):
            raise Unauthorized("Invalid X-RapidAPI-Proxy-Secret header.")
        return Principal("rapidapi", _printable(user)[:_MAX_ID_LEN] or "unknown")


def build_authorizer(
    settings: Settings,
    *,
    clock: Clock = time.time,
    dynamodb_client: Any | None = None,
    boto3_session: Any | None = None,
) -> Authorizer:
    """The authorizer for these settings: DynamoDB stores when tables are named, local ones otherwise."""
    keys: KeyStore
    if settings.keys_table:
        keys = DynamoKeyStore(settings.keys_table, client=dynamodb_client)
    elif settings.keys_file:
        keys = FileKeyStore(settings.keys_file)
    else:
        keys = MemoryKeyStore()
    counters: CounterStore
    if settings.counters_table:
        counters = DynamoCounterStore(settings.counters_table, client=dynamodb_client)
    else:
        counters = MemoryCounterStore(clock=clock)
    name = settings.rapidapi_secret_name.strip()
    proxy = ProxySecretSource(
        static=settings.proxy_secrets,
        name=name,
        fetch=powertools_fetcher(name, settings.rapidapi_secret_max_age_s, boto3_session) if name else None,
    )
    if not settings.key_pepper and (settings.keys_table or settings.keys_file):
        log.warning("MEDIALAYER_KEY_PEPPER is empty: enterprise key hashes are unpeppered.")
    return Authorizer(
        proxy_secrets=proxy,
        keys=keys,
        limiter=RateLimiter(counters, clock=clock),
        key_pepper=settings.key_pepper,
        demo_limit=settings.demo_requests_per_window,
        demo_window_s=settings.demo_window_s,
        auth_disabled=settings.auth_disabled,
    )
