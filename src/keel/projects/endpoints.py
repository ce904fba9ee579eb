"""(being written)"""

from keel.kit.routing import api_router

router = api_router(tags=["projects"])
