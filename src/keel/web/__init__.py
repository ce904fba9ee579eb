"""Keel's server-rendered pages (ADR 0020): Jinja2 templates, a cookie session with CSRF
tokens, and the same services, Actor and gates as the JSON API. The web sits above every
domain: it composes their services, and no domain imports it."""
