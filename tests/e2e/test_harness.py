"""Where Chromium is missing the browser tests skip and say how to install it, except in CI
(KEEL_REQUIRE_BROWSER=1), where they fail: a CI run must never pass without a browser."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run_without_chromium(**env: str) -> str:
    """One browser test in a child pytest whose Chromium path names nothing."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/e2e/test_page_weight.py",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "--no-cov",
            "-q",
            "-rs",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("KEEL_")},
            "KEEL_E2E_CHROMIUM": str(ROOT / "var" / "no-such-chromium"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("require", "outcome"), [("", "1 skipped"), ("1", "1 error")], ids=["developer", "ci"]
)
def test_browser_tests__chromium_missing__skip_for_developers_fail_in_ci(
    require: str, outcome: str
) -> None:
    # Given a machine without Chromium, with or without KEEL_REQUIRE_BROWSER=1
    # When a browser test runs
    output = run_without_chromium(KEEL_REQUIRE_BROWSER=require)

    # Then it is skipped on a developer's machine and an error in CI, saying how to install it
    assert outcome in output, output
    assert "make browser" in output, output
    assert "apt-get install chromium" in output, output
