"""THE map from event name to the handlers that react to it (GUIDE §1).

One explicit dict, read top to bottom: to learn what happens when ``user.created`` is
published, look here. Handlers are ``async def handler(session, envelope, ctx)`` living in the
reacting domain's ``tasks.py``; each runs as its own job, retried on its own, and must be
idempotent on ``envelope.id``. The integrations issue fills in the catalog.
"""

from keel.events.tasks import EventHandler
from keel.organizations import tasks as organizations_tasks
from keel.projects import tasks as projects_tasks
from keel.users import tasks as users_tasks
from keel.webhooks import tasks as webhooks_tasks

SUBSCRIPTIONS: dict[str, list[EventHandler]] = {
    # Every event (the wildcard): an organization's events go to its webhooks and Slack.
    "*": [webhooks_tasks.fan_out],
    # Sign-up: welcome email, analytics, the day 1/3/7 sequence, a personal organization.
    "user.created": [
        users_tasks.send_welcome,
        users_tasks.count_signup,
        users_tasks.schedule_onboarding,
        organizations_tasks.create_personal_organization,
    ],
    # A new organization starts with a demo project (KEEL_ONBOARDING__SAMPLE_DATA).
    "organization.created": [projects_tasks.add_sample_data],
    # Superadmins hear about 500s and dead jobs: email, and Slack when configured.
    "error.detected": [users_tasks.email_superadmins, users_tasks.post_error_to_slack],
    # Plan limits at 80 % and 100 %: the organization's admins, by email and in-app.
    "plan.limit_approached": [organizations_tasks.notify_limit_crossed],
    "plan.limit_reached": [organizations_tasks.notify_limit_crossed],
    # An invitee who already has an account also sees the invitation in-app.
    "member.invited": [organizations_tasks.notify_invitee],
    # The user (in-app; email unless auth mailed already) and, for a replayed token, the
    # admins of their organizations (organizations.service.notices says which alerts).
    "security.alert": [organizations_tasks.notify_security_alert],
}
