"""Queries on ``custom_roles``."""

from __future__ import annotations

from keel.kit.repository import TenantRepository, Window
from keel.kit.schemas import PageParams
from keel.organizations.models import CustomRole


class CustomRoleRepository(TenantRepository[CustomRole]):
    model = CustomRole

    async def page(self, page: PageParams) -> Window[CustomRole]:
        return await self.paginate(self.base_statement(), page)

    async def delete(self, role: CustomRole) -> None:
        """Members holding it fall back to their built-in role (``ON DELETE SET NULL``)."""
        await self.session.delete(role)
        await self.session.flush()
