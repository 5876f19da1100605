"""Demo route: per-client-IP fixed-window limit, independent of other headers."""

from __future__ import annotations

import pytest

from medialayer.auth import Principal, build_authorizer, client_bucket
from medialayer.errors import RateLimited


def test_demo_limit_per_ip(clock, settings_factory):
    authorizer = build_authorizer(settings_factory(demo_requests_per_window=3, demo_window_s=60), clock=clock)
    for _ in range(3):
        assert authorizer.authorize({}, "203.0.113.9", demo=True) == Principal("demo", "203.0.113.9")
    with pytest.raises(RateLimited) as excinfo:
        authorizer.authorize({}, "203.0.113.9", demo=True)
    assert excinfo.value.retry_after_s == 60
    # another client is unaffected
    assert authorizer.authorize({}, "203.0.113.10", demo=True).kind == "demo"
    clock.advance(60)
    assert authorizer.authorize({}, "203.0.113.9", demo=True).kind == "demo"


def test_demo_ignores_credentials(clock, settings_factory):
    authorizer = build_authorizer(
        settings_factory(demo_requests_per_window=1, rapidapi_proxy_secrets="s3cret"), clock=clock
    )
    principal = authorizer.authorize({"X-RapidAPI-Proxy-Secret": "s3cret", "X-API-Key": "junk"}, "192.0.2.1", demo=True)
    assert principal.kind == "demo"
    with pytest.raises(RateLimited):  # a valid secret does not lift the demo limit
        authorizer.authorize({"X-RapidAPI-Proxy-Secret": "s3cret"}, "192.0.2.1", demo=True)
    # ... and the same client on the normal route is authorised by its secret, not demo-limited
    assert authorizer.authorize({"X-RapidAPI-Proxy-Secret": "s3cret"}, "192.0.2.1", demo=False).kind == "rapidapi"


def test_demo_limit_zero_disables_demo(clock, settings_factory):
    authorizer = build_authorizer(settings_factory(demo_requests_per_window=0), clock=clock)
    with pytest.raises(RateLimited):
        authorizer.authorize({}, "192.0.2.1", demo=True)


def test_ipv6_clients_are_counted_per_64(clock, settings_factory):
    authorizer = build_authorizer(settings_factory(demo_requests_per_window=2), clock=clock)
    authorizer.authorize({}, "2001:db8:1:2::1", demo=True)
    authorizer.authorize({}, "2001:db8:1:2:ffff::9", demo=True)  # same /64
    with pytest.raises(RateLimited):
        authorizer.authorize({}, "2001:db8:1:2::abcd", demo=True)
    assert authorizer.authorize({}, "2001:db8:1:3::1", demo=True).id == "2001:db8:1:3::/64"


def test_client_bucket():
    assert client_bucket("192.0.2.1") == "192.0.2.1"
    assert client_bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_bucket("2001:db8::1") == "2001:db8::/64"
    assert client_bucket("") == "unknown"
    assert client_bucket("not-an-ip") == "not-an-ip"
