"""Pure rules of the operational surface: scrubbing error reports, wording configuration
errors, problem pages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from keel.kit.logging import REDACTED
from keel.observability import rules

SECRET = "s3cr3t-value"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            {"request": {"headers": {"Authorization": f"Bearer {SECRET}", "Accept": "*/*"}}},
            {"request": {"headers": {"Authorization": REDACTED, "Accept": "*/*"}}},
            id="authorization-header",
        ),
        pytest.param(
            {"request": {"headers": {"Cookie": SECRET, "Set-Cookie": SECRET, "X-Api-Key": SECRET}}},
            {
                "request": {
                    "headers": {"Cookie": REDACTED, "Set-Cookie": REDACTED, "X-Api-Key": REDACTED}
                }
            },
            id="cookie-and-api-key-headers",
        ),
        pytest.param(
            {"request": {"cookies": {"__Host-keel_session": SECRET}}},
            {"request": {"cookies": REDACTED}},
            id="cookies",
        ),
        pytest.param(
            {
                "vars": {
                    "scope": {
                        "headers": [
                            ["b'authorization'", f"b'Bearer {SECRET}'"],
                            ["b'host'", "b'testserver'"],
                        ]
                    }
                }
            },
            {
                "vars": {
                    "scope": {
                        "headers": [["b'authorization'", REDACTED], ["b'host'", "b'testserver'"]]
                    }
                }
            },
            id="raw-asgi-header-pairs-in-frame-variables",
        ),
        pytest.param(
            {"request": {"query_string": f"page=2&access_token={SECRET}"}},
            {"request": {"query_string": f"page=2&access_token={REDACTED}"}},
            id="secret-query-parameter",
        ),
        pytest.param(
            {"message": f"cannot connect to postgresql://keel:{SECRET}@db/keel"},
            {"message": f"cannot connect to postgresql://keel:{REDACTED}@db/keel"},
            id="password-in-url",
        ),
        pytest.param(
            {"vars": {"password": SECRET, "status_code": 500, "path": "/api/v1/orgs"}},
            {"vars": {"password": REDACTED, "status_code": 500, "path": "/api/v1/orgs"}},
            id="secret-variable-beside-ordinary-ones",
        ),
        pytest.param(
            {"message": "status_code=500 path=/api/v1/orgs/{org_id}"},
            {"message": "status_code=500 path=/api/v1/orgs/{org_id}"},
            id="ordinary-text-untouched",
        ),
    ],
)
def test_scrub_event__secret_anywhere__redacted(
    event: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert rules.scrub_event(event) == expected


def test_scrub_event__any_event__input_left_unchanged() -> None:
    event = {"request": {"headers": {"Authorization": SECRET}}}
    rules.scrub_event(event)
    assert event == {"request": {"headers": {"Authorization": SECRET}}}


class _Group(BaseModel):
    pool_size: int = Field(ge=1)


class _Config(BaseModel):
    database: _Group


def test_describe_validation_error__nested_field__one_line_naming_the_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        _Config.model_validate({"database": {"pool_size": 0}})
    line = rules.describe_validation_error(caught.value)
    assert line == "KEEL_DATABASE__POOL_SIZE: Input should be greater than or equal to 1"


def test_describe_validation_error__secret_input__value_not_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        _Config.model_validate({"database": {"pool_size": SECRET}})
    line = rules.describe_validation_error(caught.value)
    assert SECRET not in line and "\n" not in line


def test_problem_page__known_code__html_with_status() -> None:
    page = rules.problem_page("not_found")
    assert page is not None and "404" in page and "<code>not_found</code>" in page


def test_problem_page__unknown_code__none() -> None:
    assert rules.problem_page("no_such_problem") is None
