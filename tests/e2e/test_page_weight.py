"""The dashboard's first load (cold cache) stays within issue 7's 150 KB budget, and every
byte of it comes from Keel itself."""

from __future__ import annotations

from playwright.async_api import Page, Request

from tests.e2e.conftest import Member
from tests.e2e.support import origin
from tests.helpers.servers import Server

#: Issue 7: "page weight of the dashboard's first load <= 150 KB", read strictly (10^3).
BUDGET_BYTES = 150_000


async def test_dashboard__first_load_cold_cache__at_most_150kb_all_from_keel(
    member_page: Page, member: Member, live_server: Server
) -> None:
    # Given a signed-in member whose browser has nothing cached
    finished: list[Request] = []
    # A lambda, not finished.append: Playwright cannot wrap a built-in method as a handler.
    member_page.on("requestfinished", lambda request: finished.append(request))  # noqa: PLW0108

    # When they open their dashboard and it settles
    await member_page.goto(member.dashboard, wait_until="networkidle")

    # Then every request went to Keel's origin, and headers plus (compressed) bodies
    # transferred add up to at most the budget
    assert {origin(request.url) for request in finished} == {live_server.url}
    transferred = {
        request.url: sizes["responseHeadersSize"] + sizes["responseBodySize"]
        for request in finished
        for sizes in [await request.sizes()]
    }
    listing = "\n".join(f"  {size:>8} B  {url}" for url, size in transferred.items())
    total = sum(transferred.values())
    print(f"dashboard first load: {total} B in {len(transferred)} requests\n{listing}")
    assert total <= BUDGET_BYTES, f"{total} B > {BUDGET_BYTES} B:\n{listing}"
