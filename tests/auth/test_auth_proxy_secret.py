"""RapidAPI proxy secret: missing, wrong, rotated; Secrets Manager and SSM sources; auth_disabled."""

from __future__ import annotations

import boto3
import pytest

from medialayer.auth import Principal, ProxySecretSource, build_authorizer, split_secrets
from medialayer.errors import InternalError, Unauthorized

OLD, NEW, THIRD = "old-secret-AAAA", "new-secret-BBBB", "third-secret-CCCC"


def _authorize(authorizer, headers):
    return authorizer.authorize(headers, "203.0.113.7", demo=False)


def test_missing_secret_is_401(settings_factory):
    authorizer = build_authorizer(settings_factory(rapidapi_proxy_secrets=OLD))
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {})
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": ""})


def test_wrong_secret_is_401(settings_factory):
    authorizer = build_authorizer(settings_factory(rapidapi_proxy_secrets=OLD))
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": OLD + "x"})
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": "ünïcode"})  # non-ASCII must not crash


def test_rotation_accepts_old_and_new_refuses_third(settings_factory):
    authorizer = build_authorizer(settings_factory(rapidapi_proxy_secrets=f" {OLD} , {NEW} "))
    for secret in (OLD, NEW):
        principal = _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": secret, "X-RapidAPI-User": "alice"})
        assert principal == Principal("rapidapi", "alice")
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": THIRD})


def test_headers_are_case_insensitive(settings_factory):
    authorizer = build_authorizer(settings_factory(rapidapi_proxy_secrets=OLD))
    principal = _authorize(authorizer, {"x-rapidapi-proxy-secret": OLD})
    assert principal == Principal("rapidapi", "unknown")
    assert _authorize(authorizer, {"X-RAPIDAPI-PROXY-SECRET": OLD}).kind == "rapidapi"


def test_starlette_headers_work(settings_factory):
    from starlette.datastructures import Headers

    authorizer = build_authorizer(settings_factory(rapidapi_proxy_secrets=OLD))
    headers = Headers(raw=[(b"x-rapidapi-proxy-secret", OLD.encode()), (b"x-rapidapi-user", b"bob")])
    assert _authorize(authorizer, headers) == Principal("rapidapi", "bob")


def test_principal_never_carries_the_secret(settings_factory):
    authorizer = build_authorizer(settings_factory(rapidapi_proxy_secrets=OLD))
    principal = _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": OLD})
    assert OLD not in repr(principal)


def test_deny_by_default_without_any_configuration(settings_factory):
    authorizer = build_authorizer(settings_factory())
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {})
    # a proxy header when none is configured is not a credential either
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": "anything"})


def test_auth_disabled_lets_credentialless_requests_through(settings_factory, caplog):
    with caplog.at_level("WARNING", logger="medialayer.auth"):
        authorizer = build_authorizer(settings_factory(auth_disabled=True))
    assert "AUTH DISABLED" in caplog.text
    assert _authorize(authorizer, {}) == Principal("anonymous", "anonymous")
    # a presented credential is still checked
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-API-Key": "mlk_bogus"})


def test_auth_disabled_is_ignored_when_a_proxy_secret_is_configured(settings_factory):
    authorizer = build_authorizer(settings_factory(auth_disabled=True, rapidapi_proxy_secrets=OLD))
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {})


def test_split_secrets():
    assert split_secrets(b"a, b,,c ") == ("a", "b", "c")
    assert split_secrets(None) == ()


def test_secret_is_not_logged_on_failure(settings_factory, caplog):
    authorizer = build_authorizer(settings_factory(rapidapi_proxy_secrets=OLD))
    with caplog.at_level("DEBUG"), pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": THIRD})
    assert OLD not in caplog.text and THIRD not in caplog.text


# --- AWS sources ---------------------------------------------------------------------------------


def test_secrets_manager_source(aws, settings_factory):
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name="medialayer/rapidapi", SecretString=f"{OLD},{NEW}")
    authorizer = build_authorizer(settings_factory(rapidapi_secret_name="medialayer/rapidapi"))
    assert _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": NEW}).kind == "rapidapi"
    assert _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": OLD}).kind == "rapidapi"
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": THIRD})
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {})


def test_secrets_manager_rotation_is_picked_up_after_max_age(aws, settings_factory):
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name="rapid", SecretString=OLD)
    cached = build_authorizer(settings_factory(rapidapi_secret_name="rapid", rapidapi_secret_max_age_s=300))
    fresh = build_authorizer(settings_factory(rapidapi_secret_name="rapid", rapidapi_secret_max_age_s=0))
    assert _authorize(cached, {"X-RapidAPI-Proxy-Secret": OLD})
    assert _authorize(fresh, {"X-RapidAPI-Proxy-Secret": OLD})
    sm.put_secret_value(SecretId="rapid", SecretString=f"{NEW},{THIRD}")
    # cached: still the old value within max_age; fresh: sees the rotation at once
    assert _authorize(cached, {"X-RapidAPI-Proxy-Secret": OLD})
    with pytest.raises(Unauthorized):
        _authorize(fresh, {"X-RapidAPI-Proxy-Secret": OLD})
    assert _authorize(fresh, {"X-RapidAPI-Proxy-Secret": THIRD})


def test_ssm_source(aws, settings_factory):
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/medialayer/rapidapi", Value=f"{OLD},{NEW}", Type="SecureString")
    authorizer = build_authorizer(settings_factory(rapidapi_secret_name="ssm:/medialayer/rapidapi"))
    assert _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": OLD}).kind == "rapidapi"
    assert _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": NEW}).kind == "rapidapi"
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": THIRD})


def test_unreadable_secret_fails_closed(aws, settings_factory, caplog):
    authorizer = build_authorizer(settings_factory(rapidapi_secret_name="does-not-exist"))
    with pytest.raises(InternalError):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": OLD})
    with pytest.raises(Unauthorized):  # no header: refused before any lookup
        _authorize(authorizer, {})


def test_empty_stored_secret_refuses_everyone():
    source = ProxySecretSource(name="x", fetch=lambda _name: " , ")
    assert source.configured and source.current() == ()
    from medialayer.auth import Authorizer
    from medialayer.keys import MemoryKeyStore
    from medialayer.ratelimit import MemoryCounterStore, RateLimiter

    authorizer = Authorizer(
        proxy_secrets=source,
        keys=MemoryKeyStore(),
        limiter=RateLimiter(MemoryCounterStore()),
        key_pepper="p",
        demo_limit=1,
        demo_window_s=60,
    )
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": ""})
    with pytest.raises(Unauthorized):
        _authorize(authorizer, {"X-RapidAPI-Proxy-Secret": ","})


def test_rapidapi_user_id_is_sanitised(settings_factory):
    authorizer = build_authorizer(settings_factory(rapidapi_proxy_secrets=OLD))
    principal = _authorize(
        authorizer, {"X-RapidAPI-Proxy-Secret": OLD, "X-RapidAPI-User": " eve\n\x1b[31mroot" + "x" * 500}
    )
    assert principal.id.startswith("eve[31mroot") and len(principal.id) == 128
    assert "\n" not in principal.id and "\x1b" not in principal.id
