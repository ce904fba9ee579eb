"""The auth domain's HTTP surface under ``/api/v1``: one module per concern, mounted here."""

from keel.kit.routing import api_router

router = api_router()
