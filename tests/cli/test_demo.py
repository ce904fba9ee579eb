"""``keel demo`` against a committed SQLite database."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from keel.config import Settings
from keel.kit import security
from keel.organizations.models import Membership, Organization
from keel.projects.models import Document, Project
from keel.projects.rules import SAMPLE_DOCUMENTS, SAMPLE_PROJECT
from keel.users.models import User
from tests.cli.conftest import Cli
from tests.cli.support import committed, run


async def demo_state(settings: Settings, email: str) -> dict[str, object]:
    async with committed(settings) as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        rows = (
            await session.execute(
                select(Organization.name, Membership.role)
                .join(Membership, Membership.organization_id == Organization.id)
                .where(Membership.user_id == user.id)
            )
        ).all()
        projects = (await session.scalars(select(Project.name))).all()
        documents = await session.scalar(select(func.count()).select_from(Document))
        return {
            "user": user,
            "memberships": [(r.name, r.role) for r in rows],
            "projects": list(projects),
            "documents": documents,
        }


def test_demo__fresh_database__verified_admin_of_an_org_with_sample_data(
    db_cli: Cli, db_settings: Settings
) -> None:
    # When the demo is seeded with nothing piped in
    result = db_cli("demo")

    # Then the printed password logs the verified demo user in, who administers the demo
    # organization holding the sample project and its documents
    assert result.exit_code == 0, result.output
    printed = re.search(r"password: (\S+)", result.stdout)
    assert printed is not None
    assert "demo@example.com" in result.stdout and "/api/v1/auth/login" in result.stdout
    state = run(lambda: demo_state(db_settings, "demo@example.com"))
    user = state["user"]
    assert isinstance(user, User) and user.email_verified_at is not None
    assert run(lambda: security.verify_password(user.password_hash or "", printed.group(1)))
    assert state["memberships"] == [("Acme Inc.", "admin")]
    assert state["projects"] == [SAMPLE_PROJECT["name"]]
    assert state["documents"] == len(SAMPLE_DOCUMENTS)


def test_demo__run_twice__second_changes_nothing_and_says_so(
    db_cli: Cli, db_settings: Settings
) -> None:
    # Given a seeded demo, with a password piped in
    first = db_cli.piped("correct horse battery staple 42!\n", "demo", "--org", "Globex")
    assert first.exit_code == 0, first.output
    assert "the one you piped in" in first.stdout

    # When it runs again
    again = db_cli("demo", "--org", "Globex")

    # Then it says the demo exists and nothing was added
    assert again.exit_code == 0, again.output
    assert "seeded before" in again.stdout
    state = run(lambda: demo_state(db_settings, "demo@example.com"))
    assert state["memberships"] == [("Globex", "admin")]
    assert state["documents"] == len(SAMPLE_DOCUMENTS)
