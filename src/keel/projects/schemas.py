"""The projects domain's API shapes. Bodies extend ``Input`` (unknown fields are a 422), so a
client can never set ``organization_id``, ``owner_id`` or ``project_id`` by adding a field: the
owner is always the creator and the organization and project come from the path."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from keel.kit.schemas import Input

Classification = Literal["public", "internal", "confidential", "restricted"]
ProjectName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=10_000)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Body = Annotated[str, Field(max_length=200_000)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50)
]


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_unique)]
SharedWith = Annotated[list[uuid.UUID], Field(max_length=200), AfterValidator(_unique)]


class _Patch(Input):
    """A PATCH body: absent fields stay as they are; ``null`` only where the field is nullable."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> _Patch:
        for field in self.model_fields_set - self.nullable:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null; leave it out to keep the current value")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


# ---- projects ----------------------------------------------------------------------------------


class ProjectCreate(Input):
    name: ProjectName
    description: Description | None = None
    team_id: uuid.UUID | None = None


class ProjectUpdate(_Patch):
    nullable = frozenset({"description", "team_id"})

    name: ProjectName | None = None
    description: Description | None = None
    team_id: uuid.UUID | None = None


class ProjectRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    team_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ProjectFilters(BaseModel):
    team_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    #: Projects whose name contains this text, case-insensitively (the web's search box).
    q: str | None = None


# ---- documents ---------------------------------------------------------------------------------


class DocumentCreate(Input):
    title: Title
    body: Body = ""
    classification: Classification = "internal"
    tags: Tags = Field(default_factory=list)
    shared_with: SharedWith = Field(default_factory=list)


class DocumentUpdate(_Patch):
    title: Title | None = None
    body: Body | None = None
    classification: Classification | None = None
    tags: Tags | None = None
    shared_with: SharedWith | None = None


class DocumentRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    body: str
    classification: Classification
    tags: list[str]
    shared_with: list[uuid.UUID]
    owner_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class DocumentFilters(BaseModel):
    classification: Classification | None = None
    owner_id: uuid.UUID | None = None
    tag: Tag | None = None
    #: Full-text search; results are then ordered by rank instead of newest first.
    q: str | None = None
