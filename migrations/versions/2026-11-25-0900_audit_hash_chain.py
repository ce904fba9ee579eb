"""audit: hash chain per organization, append-only on PostgreSQL, retention anchors.

- ``audit_chains``: one row per chain (an organization's id, or the nil UUID for platform
  entries): the head writers lock and the anchor verification starts from after a purge.
- ``audit_logs`` gains ``seq``, ``prev_hash``, ``hash`` (existing rows are chained here, in
  the order they happened) and ``actor_user_id``; its indexes put the organization first.
- PostgreSQL: ``keel_audit_purge(chain, keep_days)``, a SECURITY DEFINER function owned by the
  tables' owner, is the only way the runtime role deletes audit entries (migrations/env.py
  revokes its UPDATE, DELETE and TRUNCATE): it refuses entries younger than the chain's
  retention.
- Plans: the ``audit_retention_days`` limit (free 7, starter 30, professional 90,
  enterprise 365; -1 keeps forever), added to plans that lack it.

Revision ID: a1c3e5f70901
Revises: 7f3b9c1d2e44
Create Date: 2026-11-25 09:00:00
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import keel.kit.db

revision: str = "a1c3e5f70901"
down_revision: str | Sequence[str] | None = "7f3b9c1d2e44"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
PLATFORM_CHAIN = uuid.UUID(int=0)
RETENTION = {"free": 7, "starter": 30, "professional": 90, "enterprise": 365}
OLD_INDEXES = {
    "ix_audit_logs_actor": ["actor_kind", "actor_id"],
    "ix_audit_logs_action": ["action"],
}
NEW_INDEXES = {
    "ix_audit_logs_organization_id_actor_id_seq": ["organization_id", "actor_id", "seq"],
    "ix_audit_logs_organization_id_action_seq": ["organization_id", "action", "seq"],
    "ix_audit_logs_organization_id_target_seq": [
        "organization_id",
        "target_type",
        "target_id",
        "seq",
    ],
}


def upgrade() -> None:
    op.create_table(
        "audit_chains",
        sa.Column("chain_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("anchor_seq", sa.BigInteger(), nullable=False),
        sa.Column("anchor_hash", sa.String(length=64), nullable=False),
        sa.Column("purged_at", keel.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_audit_chains")),
    )
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("actor_user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_entries()
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        for name in OLD_INDEXES:
            batch_op.drop_index(name)
        batch_op.create_index(
            "ix_audit_logs_organization_id_seq", ["organization_id", "seq"], unique=True
        )
        for name, columns in NEW_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    _purge_function()
    _set_retention(RETENTION)


def downgrade() -> None:
    _set_retention(None)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS keel_audit_purge(uuid, integer)")
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        for name in NEW_INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_index("ix_audit_logs_organization_id_seq")
        for name, columns in OLD_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("actor_user_id")
        batch_op.drop_column("seq")
    op.drop_table("audit_chains")


# ---- written by hand --------------------------------------------------------------------------

_LOGS = sa.table(
    "audit_logs",
    *(
        sa.column(name, sa.String())
        for name in (
            "actor_kind",
            "actor_id",
            "action",
            "target_type",
            "target_id",
            "ip",
            "user_agent",
            "request_id",
            "prev_hash",
            "hash",
        )
    ),
    sa.column("id", sa.Uuid()),
    sa.column("organization_id", sa.Uuid()),
    sa.column("changes", keel.kit.db.JSONDocument()),
    sa.column("context", keel.kit.db.JSONDocument()),
    sa.column("occurred_at", keel.kit.db.UTCDateTime()),
    sa.column("seq", sa.BigInteger()),
    sa.column("actor_user_id", sa.Uuid()),
)
_CHAINS = sa.table(
    "audit_chains",
    sa.column("chain_id", sa.Uuid()),
    sa.column("seq", sa.BigInteger()),
    sa.column("hash", sa.String()),
    sa.column("anchor_seq", sa.BigInteger()),
    sa.column("anchor_hash", sa.String()),
)
_PLANS = sa.table(
    "plans",
    sa.column("id", sa.Uuid()),
    sa.column("key", sa.String()),
    sa.column("features", keel.kit.db.JSONDocument()),
)


def _canonical(row: dict[str, Any]) -> bytes:
    """The hash recipe of keel.audit.rules, frozen here as it was when these rows were
    chained (docs/audit.md)."""
    plain = {
        key: (
            str(value)
            if isinstance(value, uuid.UUID)
            else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            if isinstance(value, datetime)
            else value
        )
        for key, value in row.items()
    }
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _user_id(kind: str, actor_id: str) -> uuid.UUID | None:
    if kind != "user":
        return None
    try:
        return uuid.UUID(actor_id)
    except ValueError:
        return None


def _chain_existing_entries() -> None:
    """Chain the entries written before the chain existed, oldest first, per organization."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(_LOGS).order_by(_LOGS.c.occurred_at, _LOGS.c.id)).mappings().all()
    heads: dict[uuid.UUID, tuple[int, str]] = {}
    for row in rows:
        chain = row["organization_id"] or PLATFORM_CHAIN
        seq, prev = heads.get(chain, (0, GENESIS))
        fields = {
            **{k: row[k] for k in ("id", "organization_id", "actor_kind", "actor_id", "action")},
            **{k: row[k] for k in ("target_type", "target_id", "ip", "user_agent")},
            "request_id": row["request_id"],
            "changes": row["changes"],
            "context": row["context"],
            "seq": seq + 1,
            "actor_user_id": _user_id(row["actor_kind"], row["actor_id"]),
            "occurred_at": row["occurred_at"],
        }
        digest = hashlib.sha256(prev.encode() + _canonical(fields)).hexdigest()
        bind.execute(
            sa.update(_LOGS)
            .where(_LOGS.c.id == row["id"])
            .values(seq=seq + 1, actor_user_id=fields["actor_user_id"], prev_hash=prev, hash=digest)
        )
        heads[chain] = (seq + 1, digest)
    for chain, (seq, digest) in heads.items():
        bind.execute(
            sa.insert(_CHAINS).values(
                chain_id=chain, seq=seq, hash=digest, anchor_seq=0, anchor_hash=GENESIS
            )
        )


def _set_retention(days: dict[str, int] | None) -> None:
    """Add ``audit_retention_days`` to plans that lack it (a superadmin's value stays); None
    removes it."""
    bind = op.get_bind()
    for plan_id, key, stored in bind.execute(sa.select(_PLANS)).all():
        features = dict(stored if isinstance(stored, dict) else json.loads(stored))
        if days is None:
            features.pop("audit_retention_days", None)
        elif "audit_retention_days" in features:
            continue
        else:
            fallback = 90 if features.get("audit_logs") else 7
            features["audit_retention_days"] = days.get(key, fallback)
        bind.execute(sa.update(_PLANS).where(_PLANS.c.id == plan_id).values(features=features))


def _purge_function() -> None:
    """The runtime role's only way to delete audit entries: a prefix of one chain, older than
    the chain's retention (the organization's plan and override; a year for platform entries
    and deleted organizations). Runs as the owner, with the platform scope set for itself
    only (organizations and plan_overrides are behind forced row-level security)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
CREATE FUNCTION keel_audit_purge(p_chain uuid, p_keep_days integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET keel.platform = 'on'
AS $$
DECLARE
    v_org uuid := nullif(p_chain, '00000000-0000-0000-0000-000000000000'::uuid);
    v_days integer := 365;
    v_limit timestamptz;
    v_first_young bigint;
    v_last bigint;
    v_hash text;
    v_deleted bigint;
BEGIN
    IF v_org IS NOT NULL THEN
        SELECT coalesce((po.features ->> 'audit_retention_days')::integer,
                        (p.features ->> 'audit_retention_days')::integer)
          INTO v_days
          FROM organizations o
          JOIN plans p ON p.key = o.plan
          LEFT JOIN plan_overrides po ON po.organization_id = o.id
         WHERE o.id = v_org;
        IF NOT FOUND THEN
            v_days := 365;
        END IF;
    END IF;
    IF v_days IS NULL OR v_days < 0 THEN
        RAISE EXCEPTION 'audit purge refused: chain % keeps its entries forever', p_chain
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_keep_days IS NOT NULL AND p_keep_days < v_days THEN
        RAISE EXCEPTION 'audit purge refused: chain % keeps its entries % days', p_chain, v_days
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    v_limit := now() - make_interval(days => coalesce(p_keep_days, v_days));
    PERFORM 1 FROM audit_chains WHERE chain_id = p_chain FOR UPDATE;
    IF v_org IS NULL THEN
        SELECT min(seq) INTO v_first_young FROM audit_logs
         WHERE organization_id IS NULL AND occurred_at >= v_limit;
        SELECT max(seq) INTO v_last FROM audit_logs
         WHERE organization_id IS NULL AND occurred_at < v_limit
           AND (v_first_young IS NULL OR seq < v_first_young);
    ELSE
        SELECT min(seq) INTO v_first_young FROM audit_logs
         WHERE organization_id = v_org AND occurred_at >= v_limit;
        SELECT max(seq) INTO v_last FROM audit_logs
         WHERE organization_id = v_org AND occurred_at < v_limit
           AND (v_first_young IS NULL OR seq < v_first_young);
    END IF;
    IF v_last IS NULL THEN
        RETURN 0;
    END IF;
    SELECT hash INTO v_hash FROM audit_logs
     WHERE organization_id IS NOT DISTINCT FROM v_org AND seq = v_last;
    UPDATE audit_chains SET anchor_seq = v_last, anchor_hash = v_hash, purged_at = now()
     WHERE chain_id = p_chain;
    DELETE FROM audit_logs
     WHERE (organization_id = v_org OR (v_org IS NULL AND organization_id IS NULL))
       AND seq <= v_last;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;
END
$$
"""
    )
    op.execute("REVOKE ALL ON FUNCTION keel_audit_purge(uuid, integer) FROM PUBLIC")
