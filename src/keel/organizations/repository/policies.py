"""Queries on ``access_policies``."""

from __future__ import annotations

from keel.kit.repository import TenantRepository, Window
from keel.kit.schemas import PageParams
from keel.organizations.models import AccessPolicy


class PolicyRepository(TenantRepository[AccessPolicy]):
    model = AccessPolicy

    async def enabled(self) -> list[AccessPolicy]:
        stmt = self.base_statement().where(AccessPolicy.enabled.is_(True))
        return list((await self.session.scalars(stmt)).all())

    async def page(self, page: PageParams) -> Window[AccessPolicy]:
        return await self.paginate(self.base_statement(), page)

    async def delete(self, policy: AccessPolicy) -> None:
        await self.session.delete(policy)
        await self.session.flush()
