"""Events the notifications domain publishes:

==========================  ==============================================================
name                        when
==========================  ==============================================================
email_preferences.updated   a user turned email categories on or off (preferences or link)
==========================  ==============================================================
"""

from __future__ import annotations

import uuid

from keel.events.schemas import Event


class EmailPreferencesUpdated(Event):
    """A user turned non-essential email categories on or off, on the preferences page or
    by an unsubscribe link; ``subscribed`` holds only the categories that changed."""

    name = "email_preferences.updated"
    example = {"user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b", "subscribed": {"usage": False}}

    user_id: uuid.UUID
    #: The categories that changed, with their new state.
    subscribed: dict[str, bool]
