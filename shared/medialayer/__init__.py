"""MediaLayer Match shared layer: settings, errors and envelope, safe fetcher, sniffing, caps, auth.

Everything the three match functions have in common lives here; each medium's engine lives in
``functions/<medium>/`` and plugs into :mod:`medialayer.engine`.
"""

__version__ = "0.1.0"
