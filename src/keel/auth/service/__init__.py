"""The auth domain's API, one module per concern: ``tokens`` (JWT, JWKS), ``sessions``
(sessions and refresh rotation), ``login``, ``registration`` (sign-up, verification, reset),
``mfa`` and ``throttle`` (brute-force protection)."""
