"""The product spec's three example flags, as data for the demo tenant and the docs."""

from __future__ import annotations

from keel.flags.rules.definition import Flag, Rule, Targeting

EXAMPLE_FLAGS: tuple[Flag, ...] = (
    Flag(
        key="advanced_analytics",
        name="Advanced analytics",
        description="Deeper reports, for the plans that pay for them.",
        enabled=True,
        targeting=Targeting(rules=(Rule("plan", "in", ("professional", "enterprise")),)),
    ),
    Flag(
        key="ai_assistant",
        name="AI assistant",
        description="The in-app assistant, rolled out gradually in production.",
        enabled=True,
        rollout_percentage=25,
        environment="production",
    ),
    Flag(
        key="team_collaboration",
        name="Team collaboration",
        description="Shared workspaces and comments, on for everyone.",
        enabled=True,
    ),
)
