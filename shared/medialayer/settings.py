"""All configuration, from environment variables prefixed ``MEDIALAYER_``. Secure by default: auth on, no
private hosts, AWS resources only when named.

The table of every variable, docs/settings.md, is generated from this model (``python -m
medialayer_local.settings_doc --write``; a test fails when it is stale), so a field's ``description`` is its
documentation. The local server reads the same variables with a few local defaults
(:class:`medialayer_local.settings.LocalSettings`).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from medialayer.url_policy import AllowList, _literal_ip, normalise_allow_entry

log = logging.getLogger("medialayer.settings")


class Settings(BaseSettings):
    """Runtime settings. Every field maps to ``MEDIALAYER_<FIELD_NAME>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="MEDIALAYER_", extra="ignore")

    # --- fetcher -----------------------------------------------------------------------------------
    allow_private_hosts: str = Field(
        "",
        description="Comma-separated `host` or `host:port` entries allowed even though they resolve to "
        "private/loopback addresses (a host without a port allows every port). A URL entry "
        "(`http://127.0.0.1:9000`) is read as its origin (`127.0.0.1:9000`); anything else refuses to start. "
        "For local tests and `medialayer serve-dir` only; empty in production.",
    )
    connect_timeout_s: float = Field(5.0, description="TCP+TLS connect timeout per hop.")
    read_timeout_s: float = Field(10.0, description="Max silence between two reads.")
    total_timeout_s: float = Field(20.0, description="Max wall time for one download, redirects included.")
    max_redirects: int = Field(3, ge=0, le=5, description="Redirects followed per URL, each hop vetted again.")
    temp_dir: str = Field("", description="Where downloads are written (default: the system temp dir).")

    # --- auth and limits ---------------------------------------------------------------------------
    auth_disabled: bool = Field(
        False, description="Accept requests without any credential. Local convenience; logged loudly."
    )
    rapidapi_proxy_secrets: str = Field(
        "", description="Comma-separated accepted X-RapidAPI-Proxy-Secret values (two during rotation)."
    )
    rapidapi_secret_name: str = Field(
        "",
        description="AWS: Secrets Manager secret or SSM parameter (prefix ssm:) holding the proxy secrets.",
    )
    keys_table: str = Field("", description="AWS: DynamoDB table of hashed enterprise keys (empty: in-memory).")
    counters_table: str = Field("", description="AWS: DynamoDB table of rate-limit counters (empty: in-memory).")
    key_pepper: str = Field("", description="Extra secret mixed into enterprise key hashes (never logged).")
    keys_file: str = Field(
        "", description="Local: JSON file of hashed enterprise keys (used when keys_table is empty)."
    )
    rapidapi_secret_max_age_s: int = Field(
        300, ge=0, description="How long a proxy secret fetched from Secrets Manager/SSM is cached."
    )
    demo_requests_per_window: int = Field(
        10, ge=0, description="Demo routes: requests per client address (IPv6: per /64) per window, all media."
    )
    demo_window_s: int = Field(60, ge=1, description="Demo routes: length of the fixed rate-limit window.")
    demo_cap_factor: float = Field(0.5, gt=0, le=1, description="Demo routes: caps = normal caps x this.")
    demo_max_in_flight_per_ip: int = Field(
        2, ge=1, description="Demo routes: requests in flight per client address; beyond it 429 rate_limited."
    )

    # --- video fan-out -----------------------------------------------------------------------------
    staging_bucket: str = Field("", description="AWS: S3 bucket for staged media (empty: local directory).")
    staging_dir: str = Field("", description="Local staging directory (default: a temp dir).")
    state_machine_arn: str = Field("", description="AWS: Express state machine for video (empty: local pool).")
    local_workers: int = Field(2, ge=1, le=32, description="Local process-pool size for the video fan-out.")

    # --- the server and the edge (issue 13) -----------------------------------------------------------
    max_concurrent_matches: int = Field(
        4, ge=1, description="Matches in flight per process; beyond it requests get 503 overloaded."
    )
    trusted_proxies: str = Field(
        "",
        description="Local server: comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For / "
        "X-Forwarded-Proto are believed. Empty (default): the TCP peer is the client, forwarded headers are ignored.",
    )
    max_body_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="Largest request body accepted (413 request_too_large beyond). A match request is two URLs "
        "of at most 2,048 characters and a flag (~4.2 KB); the rest is room for whitespace and escapes.",
    )
    body_timeout_s: float = Field(10.0, gt=0, description="Max time for a client to send its request body (408).")
    header_timeout_s: float = Field(
        10.0, gt=0, description="Local server: a connection must finish its request headers within this, else closed."
    )
    max_connections_per_ip: int = Field(
        64, ge=1, description="Local server: open connections per client address (trusted proxies exempt)."
    )
    graceful_shutdown_s: float = Field(
        10.0, gt=0, description="Local server: on SIGTERM, wait this long for requests in flight, then cancel them."
    )

    @field_validator("allow_private_hosts", "rapidapi_proxy_secrets")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("allow_private_hosts")
    @classmethod
    def _allow_entries_are_hosts(cls, value: str) -> str:
        """Refuse to start on an entry that could never match (it used to be accepted and silently ignored)."""
        for entry in _entries(value):
            try:
                normalise_allow_entry(entry)
            except ValueError as exc:
                raise ValueError(
                    f"MEDIALAYER_ALLOW_PRIVATE_HOSTS entry {entry!r} is not usable: {exc}. Write host or "
                    "host:port entries, e.g. 127.0.0.1:9000"
                ) from None
        return value

    @property
    def private_host_allowlist(self) -> AllowList:
        """The allow-list as :func:`~medialayer.url_policy.vet_url` compares it (entries normalised)."""
        return AllowList(normalise_allow_entry(e) for e in _entries(self.allow_private_hosts))

    @property
    def trusted_proxy_list(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def proxy_secrets(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.rapidapi_proxy_secrets.split(",") if s.strip())

    def warn_about_conveniences(self) -> None:
        """Log loudly every local convenience that weakens the defaults."""
        if self.private_host_allowlist:
            log.warning(
                "MEDIALAYER_ALLOW_PRIVATE_HOSTS is set (%s): these private/loopback hosts can be fetched. "
                "Never set this in production.",
                ",".join(sorted(self.private_host_allowlist)),
            )
            for entry in _entries(self.allow_private_hosts):
                if normalise_allow_entry(entry) != entry.lower():
                    log.warning(
                        "MEDIALAYER_ALLOW_PRIVATE_HOSTS entry %r is read as %r (host:port, not a URL)",
                        entry,
                        normalise_allow_entry(entry),
                    )

            def is_ip_literal(entry: str) -> bool:  # "10.0.0.5", "::1", "[::1]:9000", "127.0.0.1:9000"
                host = entry[1:].split("]", 1)[0] if entry.startswith("[") else entry
                if host.count(":") == 1:
                    host = host.split(":", 1)[0]
                return _literal_ip(host) is not None

            names = sorted(e for e in self.private_host_allowlist if not is_ip_literal(e))
            if names:
                log.warning(
                    "MEDIALAYER_ALLOW_PRIVATE_HOSTS lists host NAMES (%s), not IP literals: DNS is trusted for "
                    "them on every lookup, so whatever address they resolve to (loopback, private, cloud "
                    "metadata) is fetched. This is a test-only switch; never set it in production.",
                    ",".join(names),
                )
        if self.auth_disabled:
            log.warning("MEDIALAYER_AUTH_DISABLED is set: requests are accepted WITHOUT credentials.")
        if self.trusted_proxy_list:
            log.warning(
                "MEDIALAYER_TRUSTED_PROXIES is set (%s): X-Forwarded-For from these peers decides the client "
                "address (demo limits are counted on it).",
                ",".join(self.trusted_proxy_list),
            )


def _entries(value: str) -> list[str]:
    return [e.strip() for e in value.split(",") if e.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests call ``get_settings.cache_clear()``)."""
    return Settings()
