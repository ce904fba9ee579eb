"""Who may call a projects route, declared in its signature (GUIDE §3.3). Each alias proves
membership of the path's organization (404 otherwise) and that the caller's role holds the
permission at some scope (403 otherwise); the service then checks the scope on the row."""

from __future__ import annotations

from keel.organizations.dependencies import requires

CanReadProjects = requires("projects:read")
CanWriteProjects = requires("projects:write")
CanDeleteProjects = requires("projects:delete")
CanReadDocuments = requires("documents:read")
CanWriteDocuments = requires("documents:write")
CanDeleteDocuments = requires("documents:delete")
