"""The account's custom GPTs and projects ("gizmos"), and the bodies their endpoints serve.

A seed of two GPTs and two projects, enough for tests to prove a turn ran in the one asked
for: an answer in one ends by naming it (`describe`). The shapes follow what peers read
from chatgpt.com (docs/replica.md, "Custom GPTs and projects"); where they disagree the
replica serves one and the bridge reads all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Gizmo:
    id: str
    name: str
    slug: str
    """The name part of its links: `/g/<id>-<slug>`."""

    @property
    def project(self) -> bool:
        return self.id.startswith("g-p-")

    def resource(self) -> dict[str, Any]:
        """`{"gizmo": {...}}`, as `GET /backend-api/gizmos/<id>` answers."""
        gizmo = {
            "id": self.id,
            "short_url": f"{self.id}-{self.slug}",
            "display": {"name": self.name, "description": f"The replica's {self.name}."},
        }
        return {"gizmo": gizmo, "tools": [], "files": []}


GIZMOS: tuple[Gizmo, ...] = (
    Gizmo("g-R3plicaCode", "Code Reviewer", "code-reviewer"),
    Gizmo("g-R3plicaPoet", "Haiku Poet", "haiku-poet"),
    Gizmo("g-p-5e1ec7ed0000000000000000000000a1", "Research", "research"),
    Gizmo("g-p-5e1ec7ed0000000000000000000000b2", "Trip to Rome", "trip-to-rome"),
)


def find(gizmo_id: str) -> Gizmo | None:
    return next((g for g in GIZMOS if g.id == gizmo_id), None)


def bootstrap() -> dict[str, Any]:
    """`GET /backend-api/gizmos/bootstrap`: the sidebar's GPTs (projects are not in it)."""
    gpts = [g for g in GIZMOS if not g.project]
    return {"gizmos": [{"flair": {"kind": "recent"}, "resource": g.resource()} for g in gpts]}


def sidebar() -> dict[str, Any]:
    """`GET /backend-api/gizmos/snorlax/sidebar`: the projects, one page (`cursor` null)."""
    projects = [g for g in GIZMOS if g.project]
    items = [{"gizmo": g.resource(), "conversations": {"items": []}} for g in projects]
    return {"items": items, "cursor": None}


def describe(gizmo_id: str) -> str:
    """The line an answer given inside a GPT or a project ends with."""
    gizmo = find(gizmo_id)
    name = gizmo.name if gizmo else gizmo_id
    kind = "project" if gizmo_id.startswith("g-p-") else "custom GPT"
    return f"(Answered in the {kind} “{name}”, {gizmo_id}.)"
