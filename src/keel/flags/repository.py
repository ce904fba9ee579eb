"""Every query on ``feature_flags`` and ``feature_flag_versions``. Platform-wide tables: no
tenant statement, no row-level security."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from keel.flags.models import FeatureFlag, FeatureFlagVersion
from keel.kit.repository import Repository, Window
from keel.kit.schemas import PageParams

#: ``pg_advisory_xact_lock`` key of flag changes (any constant; this one spells "flags").
_CHANGE_LOCK = 0x666C616773


class FlagRepository(Repository[FeatureFlag]):
    model = FeatureFlag

    async def lock_changes(self) -> None:
        """Serialize flag changes until the transaction ends. A change is validated against
        every other flag (prerequisite cycles) and numbers its version from the last one;
        two concurrent changes could each pass alone and together save a cycle. On SQLite a
        writing transaction already holds the database's one write lock."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHANGE_LOCK}
            )

    async def by_key(self, key: str) -> FeatureFlag | None:
        flag: FeatureFlag | None = await self.session.scalar(
            self.base_statement().where(FeatureFlag.key == key)
        )
        return flag

    async def all_flags(self) -> list[FeatureFlag]:
        stmt = self.base_statement().order_by(FeatureFlag.key)
        return list((await self.session.scalars(stmt)).all())

    async def definitions(self) -> list[dict[str, Any]]:
        """Only the definitions: what building the evaluator needs, without ORM rows."""
        stmt = select(FeatureFlag.definition).order_by(FeatureFlag.key)
        return list((await self.session.scalars(stmt)).all())

    async def page(self, page: PageParams) -> Window[FeatureFlag]:
        """Newest first. Keyed by id alone: a cursor of ids and times only is one a forged
        value cannot turn into a database error (a NUL in a text key would be)."""
        return await self.paginate(self.base_statement(), page)

    async def delete(self, flag: FeatureFlag) -> None:
        await self.session.delete(flag)
        await self.session.flush()


class VersionRepository(Repository[FeatureFlagVersion]):
    model = FeatureFlagVersion

    async def last_number(self, key: str) -> int:
        """The key's latest version, 0 when it never had one (a deleted flag keeps its)."""
        stmt = select(func.max(FeatureFlagVersion.version)).where(FeatureFlagVersion.key == key)
        return int(await self.session.scalar(stmt) or 0)

    async def numbered(self, key: str, version: int) -> FeatureFlagVersion | None:
        stmt = self.base_statement().where(
            FeatureFlagVersion.key == key, FeatureFlagVersion.version == version
        )
        row: FeatureFlagVersion | None = await self.session.scalar(stmt)
        return row

    async def page(self, key: str, page: PageParams) -> Window[FeatureFlagVersion]:
        """Newest first, by id (UUIDv7: creation order, which is version order as changes are
        serialized). Not by ``version``: a forged cursor with a number past the column's range
        would fail in the database instead of as a bad cursor."""
        stmt = self.base_statement().where(FeatureFlagVersion.key == key)
        return await self.paginate(stmt, page)
