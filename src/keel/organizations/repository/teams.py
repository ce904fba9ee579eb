"""Queries on ``teams``."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from keel.kit.repository import TenantRepository, Window
from keel.kit.schemas import PageParams
from keel.organizations.models import Team


class TeamRepository(TenantRepository[Team]):
    model = Team

    async def page(
        self, page: PageParams, *, only: Collection[uuid.UUID] | None = None
    ) -> Window[Team]:
        """Newest first; ``only`` narrows to those teams (a manager sees their own)."""
        stmt = self.base_statement()
        if only is not None:
            stmt = stmt.where(Team.id.in_(list(only)))
        return await self.paginate(stmt, page)

    async def delete(self, team: Team) -> None:
        await self.session.delete(team)
        await self.session.flush()
