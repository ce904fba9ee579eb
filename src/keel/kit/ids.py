"""Primary keys are UUIDv7: unique without coordination and ordered by creation time,
so B-tree inserts stay local and keyset pagination can break ties on the id."""

import uuid

from uuid_utils import compat


def new_id() -> uuid.UUID:
    return compat.uuid7()
