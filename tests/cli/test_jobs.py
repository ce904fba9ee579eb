"""``keel jobs list`` and ``keel jobs retry`` against a committed SQLite database."""

from __future__ import annotations

import uuid

import pytest

from keel.cli.jobs import error_summary
from keel.config import Settings
from tests.cli.conftest import Cli
from tests.cli.support import audit_actions, job_status, run, seed_dead_job, seed_job

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "handler.py", line 3, in send\n'
    "    raise ValueError(msg)\n"
    "ValueError: [smtp] mailbox full\n"
)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (None, ""),
        ("", ""),
        (TRACEBACK, "ValueError: [smtp] mailbox full"),
        ("lease lost\nsecond line", "lease lost"),
        ("\n  timed out  \n", "timed out"),
    ],
)
def test_error_summary__stored_error__the_line_that_names_it(
    stored: str | None, shown: str
) -> None:
    assert error_summary(stored) == shown


def test_jobs_list__no_jobs__says_so(db_cli: Cli) -> None:
    result = db_cli("jobs", "list")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "No jobs."


def test_jobs_list__queued_and_dead__table_with_error_summary(
    db_cli: Cli, db_settings: Settings
) -> None:
    # Given
    queued = run(lambda: seed_job(db_settings))
    dead = run(lambda: seed_dead_job(db_settings, error=TRACEBACK))

    # When
    result = db_cli("jobs", "list")

    # Then
    assert result.exit_code == 0, result.output
    assert str(queued) in result.stdout
    assert str(dead) in result.stdout
    dead_row = next(line for line in result.stdout.splitlines() if str(dead) in line)
    assert "jobs.purge" in dead_row
    assert " dead " in dead_row
    assert "ValueError: [smtp] mailbox full" in dead_row  # "[smtp]" is text, not markup
    assert "Traceback" not in result.stdout


@pytest.mark.parametrize("args", [["--dead"], ["--status", "dead"], ["--dead", "--status", "dead"]])
def test_jobs_list__dead_filter__only_dead_jobs(
    db_cli: Cli, db_settings: Settings, args: list[str]
) -> None:
    # Given
    queued = run(lambda: seed_job(db_settings))
    dead = run(lambda: seed_dead_job(db_settings, error="boom"))

    # When
    result = db_cli("jobs", "list", *args)

    # Then
    assert result.exit_code == 0, result.output
    assert str(dead) in result.stdout
    assert str(queued) not in result.stdout


def test_jobs_list__limit__newest_first(db_cli: Cli, db_settings: Settings) -> None:
    # Given
    older = run(lambda: seed_job(db_settings))
    newer = run(lambda: seed_job(db_settings))

    # When
    result = db_cli("jobs", "list", "--limit", "1")

    # Then
    assert result.exit_code == 0, result.output
    assert str(newer) in result.stdout
    assert str(older) not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--dead", "--status", "queued"],
        ["--status", "stuck"],
        ["--limit", "0"],
    ],
)
def test_jobs_list__contradictory_or_bad_options__usage_error(db_cli: Cli, args: list[str]) -> None:
    result = db_cli("jobs", "list", *args)

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")


def test_jobs_list__database_not_migrated__one_line_saying_to_migrate(cli: Cli) -> None:
    # Given the embedded database under an empty data dir
    # When
    result = cli("jobs", "list")

    # Then
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "keel migrate" in result.stderr


def test_jobs_retry__dead_job__requeued_and_audited(db_cli: Cli, db_settings: Settings) -> None:
    # Given
    job_id = run(lambda: seed_dead_job(db_settings, error="boom"))

    # When
    result = db_cli("jobs", "retry", str(job_id))

    # Then
    assert result.exit_code == 0, result.output
    assert str(job_id) in result.stdout
    assert run(lambda: job_status(db_settings, job_id)) == "queued"
    audit = run(lambda: audit_actions(db_settings, str(job_id)))
    assert audit == [("job.retried", "system", "cli")]


def test_jobs_retry__malformed_id__usage_error(db_cli: Cli) -> None:
    result = db_cli("jobs", "retry", "not-a-uuid")

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "JOB_ID" in result.stderr


def test_jobs_retry__unknown_id__one_line_failure(db_cli: Cli) -> None:
    job_id = uuid.uuid4()

    result = db_cli("jobs", "retry", str(job_id))

    assert result.exit_code == 1
    assert result.stderr == f"error: no job with id {job_id}\n"


def test_jobs_retry__job_not_dead__refused_and_nothing_audited(
    db_cli: Cli, db_settings: Settings
) -> None:
    # Given
    job_id = run(lambda: seed_job(db_settings))

    # When
    result = db_cli("jobs", "retry", str(job_id))

    # Then
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "is queued, not dead" in result.stderr
    assert run(lambda: job_status(db_settings, job_id)) == "queued"
    assert run(lambda: audit_actions(db_settings, str(job_id))) == []
