"""What the organization admin pages show (members and invitations, teams, roles and access,
the organization's settings), composed from the organizations, access, auth and users
services. Every write is the domain service's own call, so it is audited and published
exactly as the API's; this module only gathers what a page lists and turns forms into the
domain's schemas."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.rules import PERMISSIONS, ROLE_ORDER, ROLES, SCOPES, Resource
from keel.access.schemas import OrgAccess
from keel.auth.service import mfa
from keel.kit.errors import ValidationFailed
from keel.kit.problems import validation_errors
from keel.kit.schemas import MAX_LIMIT, PageParams
from keel.organizations import rules as org_rules
from keel.organizations.models import Organization
from keel.organizations.schemas import (
    CustomRoleCreate,
    CustomRoleRead,
    CustomRoleUpdate,
    ExplainRequest,
    InvitationCreate,
    InvitationRead,
    MemberRead,
    MemberUpdate,
    OrganizationUpdate,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
    TeamCreate,
    TeamRead,
)
from keel.organizations.service import invitations, members, orgs, policies, roles, teams
from keel.plans import service as plans_service
from keel.users import rules as user_rules
from keel.users import service as users_service
from keel.users.models import User

#: Members listed per page of the members table.
MEMBERS_PER_PAGE = 50
#: Invitations, teams, roles and policies listed (the API's largest page): an organization
#: with more pages through the API.
LISTED = PageParams(limit=MAX_LIMIT)
#: Scopes a custom role may grant (global is the platform's alone).
ROLE_SCOPES = tuple(scope for scope in SCOPES if scope != "global")
#: The onboarding step the settings page completes.
DETAILS_STEP = "organization_details"
#: Team sizes offered on the settings page (the API takes any short text).
TEAM_SIZES = ("1", "2-10", "11-50", "51-200", "201-1000", "1000+")
_OPEN = ("pending", "expired")
Payload = TypeVar("Payload", bound=BaseModel)


class FormInvalid(Exception):
    """A form that does not make a valid payload: field -> message, shown at the fields."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid form")
        self.errors = errors


# ---- members and invitations -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRow:
    member: MemberRead
    mfa: bool
    team: str | None
    custom_role: str | None


@dataclass(frozen=True, slots=True)
class MembersView:
    rows: list[MemberRow]
    next_cursor: str | None
    #: Open invitations (pending or expired), when the caller may invite; None otherwise.
    invitations: list[InvitationRead] | None
    #: Built-in roles the caller may give (never above their own).
    grantable: list[str]
    #: The organization's custom roles, when the caller manages access (settings:update).
    custom_roles: list[CustomRoleRead]


async def members_view(
    session: AsyncSession, org: OrgAccess, *, cursor: str | None = None
) -> MembersView:
    window = await members.list_page(
        session, org, PageParams(limit=MEMBERS_PER_PAGE, cursor=cursor)
    )
    with_mfa = await mfa.enabled_among(session, (m.user_id for m in window.items))
    team_names = {team.id: team.name for team in await _teams(session, org)}
    custom = await _custom_roles(session, org)
    role_names = {role.id: role.name for role in custom}
    rows = [
        MemberRow(
            member=m,
            mfa=m.user_id in with_mfa,
            team=team_names.get(m.team_id) if m.team_id else None,
            custom_role=role_names.get(m.custom_role_id, "custom") if m.custom_role_id else None,
        )
        for m in window.items
    ]
    return MembersView(
        rows=rows,
        next_cursor=window.next_cursor,
        invitations=await _open_invitations(session, org),
        grantable=grantable_roles(org),
        custom_roles=custom,
    )


def grantable_roles(org: OrgAccess) -> list[str]:
    """The roles a select offers: the service refuses any other (``role_too_high``)."""
    return [role for role in ROLE_ORDER if org_rules.may_grant(org.role, role)]


async def _open_invitations(session: AsyncSession, org: OrgAccess) -> list[InvitationRead] | None:
    if not access.holds_somewhere(org, "users:create"):
        return None
    window = await invitations.list_page(session, org, LISTED)
    return [invitation for invitation in window.items if invitation.status in _OPEN]


async def _teams(session: AsyncSession, org: OrgAccess) -> list[TeamRead]:
    if not access.holds_somewhere(org, "team:read"):
        return []
    return (await teams.list_page(session, org, LISTED)).items


async def _custom_roles(session: AsyncSession, org: OrgAccess) -> list[CustomRoleRead]:
    if not access.holds_somewhere(org, roles.MANAGE):
        return []
    return (await roles.list_page(session, org, LISTED)).items


async def all_members(session: AsyncSession, org: OrgAccess) -> list[MemberRead]:
    """The members a select offers (the first :data:`MAX_LIMIT`, oldest first)."""
    return (await members.list_page(session, org, LISTED)).items


# ---- teams -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamView:
    team: TeamRead
    #: The team's members (None when the caller may not read members).
    members: list[MemberRead] | None
    #: Members who could be added (none when the caller may not change members).
    candidates: list[MemberRead]


async def team_view(session: AsyncSession, org: OrgAccess, team_id: uuid.UUID) -> TeamView:
    team = await teams.get(session, org, team_id)
    if not access.holds_somewhere(org, "users:read"):
        return TeamView(team=team, members=None, candidates=[])
    inside = (await members.list_page(session, org, LISTED, team_id=team_id)).items
    candidates: list[MemberRead] = []
    if access.holds_somewhere(org, "users:update"):
        candidates = [m for m in await all_members(session, org) if m.team_id != team_id]
    return TeamView(team=team, members=inside, candidates=candidates)


async def teams_list(session: AsyncSession, org: OrgAccess) -> list[TeamRead]:
    """The teams the caller may read (a team-scoped manager: their own), newest first."""
    return (await teams.list_page(session, org, LISTED)).items


def parse_team(form: Mapping[str, str]) -> TeamCreate:
    """Trimmed first: a name of spaces alone is blank (the service would store it empty)."""
    return _parse(TeamCreate, {"name": form.get("name", "").strip()})


def parse_user_id(text: str, *, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise FormInvalid({field: "Choose a member."}) from None


def may(org: OrgAccess, permission: str) -> bool:
    """Whether ``permission`` is held organization-wide (e.g. creating a team)."""
    return access.can(org, permission)


def may_write_team(org: OrgAccess, team_id: uuid.UUID) -> bool:
    return access.can(
        org, "team:write", Resource(type="team", organization_id=org.org_id, team_id=team_id)
    )


# ---- roles and access ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessView:
    #: permission -> the scope each built-in role holds it at (None: not granted).
    builtin: list[tuple[str, list[str | None]]]
    custom_roles: list[CustomRoleRead]
    policies: list[PolicyRead]
    #: Whether the plan includes custom roles (else the page offers the upgrade).
    custom_roles_allowed: bool
    members: list[MemberRead]
    teams: list[TeamRead]


async def access_view(session: AsyncSession, org: OrgAccess) -> AccessView:
    granted = await plans_service.entitlements_for(session, org.org_id, org.plan)
    return AccessView(
        builtin=builtin_grants(),
        custom_roles=(await roles.list_page(session, org, LISTED)).items,
        policies=(await policies.list_page(session, org, LISTED)).items,
        custom_roles_allowed=granted.allows("custom_roles"),
        members=await all_members(session, org),
        teams=await _teams(session, org),
    )


def builtin_grants() -> list[tuple[str, list[str | None]]]:
    """The catalog as the page's table: one row per permission, one cell per role."""
    rows: list[tuple[str, list[str | None]]] = []
    for permission in sorted(PERMISSIONS):
        cells = [ROLES[name].by_permission.get(permission) for name in ROLE_ORDER]
        rows.append((permission, [grant.scope if grant else None for grant in cells]))
    return rows


def role_scopes(grants: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """A custom role's grants as the form's ``scope.<permission>`` values."""
    return {grant["permission"]: grant["scope"] for grant in grants}


def custom_role_payload(form: Mapping[str, str]) -> dict[str, Any]:
    """The role form (name, description, one scope select per permission) as the API's body."""
    grants = [
        {"permission": permission, "scope": form[f"scope.{permission}"]}
        for permission in sorted(PERMISSIONS)
        if form.get(f"scope.{permission}")
    ]
    return {
        "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip() or None,
        "grants": grants,
    }


def parse_custom_role(form: Mapping[str, str]) -> CustomRoleCreate:
    return _parse(CustomRoleCreate, custom_role_payload(form))


def parse_custom_role_update(form: Mapping[str, str]) -> CustomRoleUpdate:
    return _parse(CustomRoleUpdate, custom_role_payload(form))


def permission_rows() -> list[tuple[str, str]]:
    """Each catalog permission and the id of its field on a form (``documents-read``)."""
    return [(p, p.replace(":", "-")) for p in sorted(PERMISSIONS)]


def policy_values(policy: PolicyRead) -> dict[str, str]:
    """A stored policy as its edit form's values (conditions as indented JSON)."""
    return {
        "name": policy.name,
        "description": policy.description or "",
        "effect": policy.effect,
        "conditions": json.dumps(policy.conditions, indent=2),
        "enabled": "on" if policy.enabled else "",
    }


def policy_payload(form: Mapping[str, str], *, create: bool) -> dict[str, Any]:
    """The policy form as the API's body; ``conditions`` is the JSON the API takes."""
    payload: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip() or None,
        "effect": form.get("effect", ""),
        "conditions": _json_field(form.get("conditions", ""), "conditions", default=[]),
        "enabled": form.get("enabled") == "on",
    }
    if create:
        resource_type, _, action = form.get("permission", "").partition(":")
        payload |= {"resource_type": resource_type, "action": action}
    return payload


def parse_policy_create(form: Mapping[str, str]) -> PolicyCreate:
    return _parse(PolicyCreate, policy_payload(form, create=True), POLICY_FIELDS)


def parse_policy_update(form: Mapping[str, str]) -> PolicyUpdate:
    return _parse(PolicyUpdate, policy_payload(form, create=False), POLICY_FIELDS)


def parse_explain(form: Mapping[str, str]) -> ExplainRequest:
    """The explain form as ``POST /access/explain``'s body."""
    resource_type, _, action = form.get("permission", "").partition(":")
    payload = {
        "user_id": form.get("user_id", ""),
        "action": action,
        "resource": {
            "type": resource_type,
            "owner_id": form.get("owner_id") or None,
            "team_id": form.get("team_id") or None,
            "attributes": _json_field(form.get("attributes", ""), "attributes", default={}),
        },
        "context": {"ip": form.get("ip") or None, "time": form.get("time") or None},
    }
    return _parse(ExplainRequest, payload, EXPLAIN_FIELDS)


def service_errors(
    exc: ValidationFailed, fields: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A service's 422 (``body.conditions.0``, ``body.action``) at the form's fields."""
    return _at_fields(exc.extra.get("errors") or [], fields or {})


#: API field (first parts of the path) -> the form field showing its error.
POLICY_FIELDS = {"resource_type": "permission", "action": "permission"}
EXPLAIN_FIELDS = {
    "resource.type": "permission",
    "action": "permission",
    "resource.owner_id": "owner_id",
    "resource.team_id": "team_id",
    "resource.attributes": "attributes",
    "context.ip": "ip",
    "context.time": "time",
}


def _parse(
    schema: type[Payload], payload: dict[str, Any], fields: Mapping[str, str] | None = None
) -> Payload:
    try:
        return schema.model_validate(payload)
    except ValidationError as exc:
        raise FormInvalid(_at_fields(validation_errors(exc.errors()), fields or {})) from None


def _at_fields(errors: Iterable[Mapping[str, Any]], fields: Mapping[str, str]) -> dict[str, str]:
    """Each error at its form field: ``fields`` renames an API path (its first two parts, or
    its first); an error about the whole body is the form's."""
    found: dict[str, str] = {}
    for error in errors:
        parts = str(error.get("field", "")).removeprefix("body").lstrip(".").split(".")
        name = fields.get(".".join(parts[:2])) or fields.get(parts[0]) or parts[0] or "form"
        found.setdefault(name, str(error.get("message", "")))
    return found


def _json_field(text: str, field: str, *, default: Any) -> Any:
    if not text.strip():
        return default
    try:
        return json.loads(text)
    except ValueError as exc:
        raise FormInvalid({field: f"Not valid JSON: {exc}."}) from None


# ---- organization settings -------------------------------------------------------------------


def parse_settings(form: Mapping[str, str]) -> OrganizationUpdate:
    """Blank industry or team size clears it; a blank slug keeps the current one."""
    payload: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "industry": form.get("industry", "").strip() or None,
        "team_size": form.get("team_size", "").strip() or None,
    }
    if form.get("slug", "").strip():
        payload["slug"] = form["slug"].strip()
    return _parse(OrganizationUpdate, payload)


async def save_settings(
    session: AsyncSession, org: OrgAccess, user: User, data: OrganizationUpdate
) -> Organization:
    """Save the details, then tick the onboarding checklist's "organization details" step
    for the user (as ``PATCH /me/onboarding`` would) unless it is already done."""
    saved = await orgs.update(session, org, data)
    if (user.onboarding_steps or {}).get(DETAILS_STEP) != user_rules.DONE:
        await users_service.update_onboarding(
            session, org.actor, user, step=DETAILS_STEP, state=user_rules.DONE
        )
    return saved


# ---- forms of the members page ---------------------------------------------------------------


def holds(org: OrgAccess, permission: str) -> bool:
    """Whether to show a control: the route's own guard and the service still decide."""
    return access.holds_somewhere(org, permission)


def parse_invitation(form: Mapping[str, str]) -> InvitationCreate:
    return _parse(
        InvitationCreate, {"email": form.get("email", ""), "role": form.get("role") or "member"}
    )


def parse_member_update(form: Mapping[str, str]) -> MemberUpdate:
    """The row's role select, and its custom role select when the page showed one (blank:
    none); a field the form did not carry is left unchanged."""
    payload: dict[str, Any] = {"role": form.get("role") or None}
    if "custom_role_id" in form:
        payload["custom_role_id"] = form["custom_role_id"] or None
    return _parse(MemberUpdate, payload)


def team_size_options(current: str) -> list[tuple[str, str]]:
    """The size choices, keeping a value set through the API that is not among them."""
    sizes = [*TEAM_SIZES, current] if current and current not in TEAM_SIZES else TEAM_SIZES
    return [("", "Not set"), *((size, f"{size} people") for size in sizes)]
