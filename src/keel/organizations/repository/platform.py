"""The platform owner's queries across every tenant: the God dashboard's search, counts and
recent sign-ups. ``organizations`` is under row-level security, so the caller lifts it for
these statements (``tenancy.enter_platform``) and says why."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, or_, select

from keel.kit.repository import Repository, Window
from keel.kit.schemas import PageParams
from keel.organizations.models import Membership, Organization


class OrganizationDirectory(Repository[Organization]):
    """Every organization, not one tenant's: only for the platform owner."""

    model = Organization

    async def search(self, query: str, page: PageParams) -> Window[Organization]:
        """Newest first; ``query`` matches the slug exactly, or a part of the name or slug
        (case-insensitive). Blank lists them all."""
        return await self.paginate(_matching(self.base_statement(), query), page)

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Organization)) or 0)

    async def member_counts(self, org_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not org_ids:
            return {}
        stmt = (
            select(Membership.organization_id, func.count())
            .where(Membership.organization_id.in_(org_ids))
            .group_by(Membership.organization_id)
        )
        counts = dict.fromkeys(org_ids, 0)
        counts.update({org_id: int(n) for org_id, n in (await self.session.execute(stmt)).all()})
        return counts

    async def of_user(self, user_id: uuid.UUID) -> list[tuple[Organization, str]]:
        """The user's organizations with their role, oldest membership first."""
        stmt = (
            select(Organization, Membership.role)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user_id)
            .order_by(Membership.joined_at, Organization.id)
        )
        return [(org, role) for org, role in (await self.session.execute(stmt)).all()]


def _matching(stmt: Select[Organization], query: str) -> Select[Organization]:
    text = query.strip().lower()
    if not text:
        return stmt
    pattern = f"%{_escape_like(text)}%"
    return stmt.where(
        or_(
            Organization.slug == text,
            func.lower(Organization.name).like(pattern, escape="\\"),
            Organization.slug.like(pattern, escape="\\"),
        )
    )


def _escape_like(text: str) -> str:
    """``%`` and ``_`` typed in a search box are letters, not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
