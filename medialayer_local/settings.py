"""The local server's settings: the deployed API's variables (:class:`medialayer.settings.Settings`) plus the
local-only ones, with the local defaults where they differ. docs/settings.md lists both (generated).

Deployed (Lambda) code never reads this class, so nothing here can loosen the deployed defaults.
"""

from __future__ import annotations

import logging

from pydantic import Field, PrivateAttr, model_validator

from medialayer.settings import Settings
from medialayer.url_policy import AllowList

log = logging.getLogger("medialayer.settings")

#: What a refused private/loopback URL's message adds on the local server (the deployed API adds nothing).
LOCAL_REFUSAL_HINT = (
    ". To match files on this machine, serve their folder with `medialayer serve-dir DIR` (it allow-lists "
    "exactly that folder's loopback address), or list the host:port in MEDIALAYER_ALLOW_PRIVATE_HOSTS"
)


class LocalSettings(Settings):
    """What ``make run`` / ``python -m medialayer_local`` / ``medialayer serve-dir`` read."""

    demo_limits: bool = Field(
        False,
        description="Local server only: apply the deployed demo limits to `/demo/*` (the playground): "
        "`demo_requests_per_window` per `demo_window_s` per address, caps x `demo_cap_factor`. Off (the "
        "default): no per-window count and full caps, logged at start-up. The deployed API always applies them.",
    )

    _configured_cap_factor: float = PrivateAttr(0.5)

    @model_validator(mode="after")
    def _full_caps_without_demo_limits(self) -> LocalSettings:
        # the API reads demo_cap_factor for the demo routes' caps: with the limits off, that is the full caps
        self._configured_cap_factor = self.demo_cap_factor
        if not self.demo_limits:
            self.demo_cap_factor = 1.0
        return self

    @property
    def private_host_allowlist(self) -> AllowList:
        """The allow-list, with a refusal that says how to reach files on this machine."""
        return AllowList(super().private_host_allowlist, hint=LOCAL_REFUSAL_HINT)

    def warn_about_conveniences(self) -> None:
        super().warn_about_conveniences()
        if self.demo_limits:
            log.info(
                "demo limits ON (MEDIALAYER_DEMO_LIMITS=true): /demo/* allows %d requests per %d s per address, "
                "caps x %g",
                self.demo_requests_per_window,
                self.demo_window_s,
                self.demo_cap_factor,
            )
        else:
            log.warning(
                "demo limits OFF (the local default): /demo/* (the playground) counts no requests per address and "
                "uses the full caps. MEDIALAYER_DEMO_LIMITS=true applies the deployed ones (%d per %d s, caps x %g).",
                self.demo_requests_per_window,
                self.demo_window_s,
                self._configured_cap_factor,
            )
