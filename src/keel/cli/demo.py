"""``keel demo``: a demo tenant to look around in, and how to log in.

One transaction creates a verified user, an organization they administer and the sample
project with its documents — through the same service calls as sign-up, ``POST /orgs`` and
the onboarding job, so everything is audited and published like a user's own work. The
password is read from standard input when one is piped in, else generated and printed once.
Running it again for the same email changes nothing and says so.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.output import database_errors, fail, load_settings
from keel.cli.superadmin import describe_error, piped_password

if TYPE_CHECKING:
    from keel.config import Settings

_GENERATED_BYTES = 12


@dataclass(frozen=True)
class Seeded:
    org_id: str
    org_name: str
    documents: int


def demo(
    email: Annotated[str, typer.Option(help="The demo user's email.")] = "demo@example.com",
    name: Annotated[str, typer.Option(help="The demo user's name.")] = "Demo Admin",
    org: Annotated[str, typer.Option(help="The demo organization's name.")] = "Acme Inc.",
) -> None:
    """Seed a demo organization with sample data and print how to log in."""
    settings = load_settings()
    piped = piped_password()
    password = piped or secrets.token_urlsafe(_GENERATED_BYTES)
    with database_errors(settings, "seed the demo"):
        seeded = asyncio.run(_seed(settings, email=email, name=name, org=org, password=password))
    if seeded is None:
        typer.echo(f"{email} exists already; the demo was seeded before. Log in as {email}.")
        return
    typer.echo(
        f"Seeded {seeded.org_name!r} ({seeded.org_id}) with a demo project and "
        f"{seeded.documents} documents. Log in (API docs: {settings.http.public_url}/api/docs) as:"
    )
    typer.echo(f"  email:    {email}")
    typer.echo(f"  password: {password if piped is None else '(the one you piped in)'}")
    typer.echo(
        f"API: curl -X POST {settings.http.public_url}/api/v1/auth/login "
        f'-H \'content-type: application/json\' -d \'{{"email": "{email}", '
        '"password": "..."}\''
    )


async def _seed(
    settings: Settings, *, email: str, name: str, org: str, password: str
) -> Seeded | None:
    from keel.access.schemas import Actor
    from keel.kit.db import standalone_transaction
    from keel.kit.errors import AppError
    from keel.organizations.schemas import OrganizationCreate
    from keel.organizations.service import access, orgs
    from keel.projects import rules as projects_rules
    from keel.projects import service as projects_service
    from keel.users import service as users_service

    cli = Actor.system("cli")
    try:
        async with standalone_transaction(settings) as session:
            if await users_service.get_by_email(session, email) is not None:
                return None
            user = await users_service.create(
                session, cli, email=email, name=name, password=password
            )
            await users_service.mark_email_verified(session, cli, user)
            created = await orgs.create(session, cli, user, OrganizationCreate(name=org))
            demo = Actor(kind="system", id="demo", on_behalf_of=user.id)
            tenant = await access.open_org(session, demo, created.id, writes=True)
            project = await projects_service.add_sample_data(session, tenant)
            documents = 0 if project is None else len(projects_rules.SAMPLE_DOCUMENTS)
    except AppError as exc:
        fail(describe_error(exc))
    return Seeded(org_id=str(created.id), org_name=created.name, documents=documents)
