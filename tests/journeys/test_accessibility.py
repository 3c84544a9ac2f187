"""Accessibility and phone layout journeys: axe-core over every public page and each role's main pages.

The demo set-up (as `flask init --demo` makes it) fills one database for the whole module: the demo
catalogue, the counties' applications, a judged contest and weeks of activity, so the pages show what
people see. Each page is checked in Chinese and English, at a desktop width (1280 px) and a phone width
(390 px), by axe-core (WCAG 2.0/2.1 A and AA rules) from the pinned PyPI package axe-playwright-python (its
bundled axe.min.js is injected into the page; nothing is fetched at run time). At 390 px and at 640 px (a
1280 px desktop at 200 % zoom) the page must not scroll sideways. A failure names the page, language,
width, rule and elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from ckanserver import serve
from sqlalchemy import select
from testconfig import app_config

from portal import commands, create_app, seeding, storage
from portal.accounts.models import User
from portal.accounts.usage_demo import seed_demo_usage
from portal.applications.demo import seed_demo_applications
from portal.applications.models import Application
from portal.catalogue import rules, search_cache
from portal.catalogue.models import Dataset, Resource
from portal.contest.demo import seed_demo_contest
from portal.contest.models import Assignment, Contest, Round, Team
from portal.extensions import db
from portal.feedback.owner_demo import seed_demo_owners
from portal.metrics.demo import seed_demo_activity
from portal.rows import loader
from portal.rows.models import RowTable
from portal.seeding import load_regions
from portal.sync.models import SyncRun

pytestmark = pytest.mark.xdist_group("accessibility")  # one demo set-up, on one worker

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
DESKTOP, PHONE, ZOOMED = 1280, 390, 640  # ZOOMED: a 1280 px window at 200 %
LANGUAGES = ("zh_CN", "en")


@dataclass
class Demo:
    url: str
    passwords: dict[str, str]  # email -> password of the demo accounts
    ids: dict[str, object]


@pytest.fixture(scope="module")
def demo(database_url, tmp_path_factory):
    """The demo set-up of the README's first command, served over HTTP for the module's journeys."""
    # Rows are loaded for one resource only (below): loading all 500 demo files would triple the set-up.
    settings = {
        **app_config(database_url, tmp_path_factory.mktemp("a11y-instance")),
        "ROWS_LOAD_AT_SYNC": False,
    }
    app = create_app(settings)
    with app.app_context():
        passwords = _seed_demo()
        ids = _ids()
        db.session.remove()
        try:
            with serve(app) as url:
                yield Demo(url, passwords, ids)
        finally:
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
            search_cache.clear()
            db.session.remove()
            db.engine.dispose()


def _seed_demo() -> dict[str, str]:
    """Make what `init --demo` makes, with five weeks of activity rather than six months; return passwords."""
    load_regions()
    accounts = seeding.create_demo_accounts()
    db.session.commit()
    commands._demo_catalogue()
    _load_rows_of_one_resource()
    seed_demo_applications(storage.get_storage())
    db.session.commit()
    seed_demo_contest()
    db.session.commit()
    seed_demo_activity(days=35)
    db.session.commit()
    seed_demo_usage()  # the monitoring page's figures, alerts and a suspended token
    db.session.commit()
    accounts += seed_demo_owners()
    db.session.commit()
    return {account.email: account.password for account in accounts}


def _load_rows_of_one_resource() -> None:
    """Load one open CSV's rows into the row store, as the sync does, for its table page."""
    store = storage.get_storage()
    candidates = db.session.scalars(
        select(Resource)
        .join(Resource.dataset)
        .where(Resource.format == "CSV", Dataset.open_condition == "unconditional", rules.published())
    )
    for resource in candidates.all():
        if loader.load(db.session, resource, source=None, open_stored=store.open, commit=db.session.commit):
            db.session.commit()
            return
    raise AssertionError("the demo has no CSV whose rows load")


def _ids() -> dict[str, object]:
    """Names and ids the page list needs, read from what the demo made."""
    first = db.session.scalars
    loaded = (
        select(Dataset.name, Resource.ckan_id)
        .join(Resource.dataset)
        .join(RowTable, RowTable.resource_id == Resource.id)
    )
    rows = db.session.execute(loaded.where(RowTable.status == "ready")).first()
    judge = first(select(User).where(User.email == "judge1@demo.jiaxing.example")).one()
    team_member = first(select(User).where(User.email == "team-330402@demo.jiaxing.example")).one()
    return {
        "dataset": rows[0],  # an open dataset whose CSV has a preview and a loaded table
        "resource": rows[1],
        "application": first(select(Application.id).where(Application.status == "approved")).first(),
        "contest": first(select(Contest.id)).first(),
        "round": first(select(Round.id).order_by(Round.id)).first(),
        "team": first(select(Team.id).where(Team.region_id == team_member.region_id)).first(),
        "assignment": first(select(Assignment.id).where(Assignment.judge_id == judge.id)).first(),
        "run": first(select(SyncRun.id)).first(),
        "owner": first(select(User.id).where(User.email == "owner1@demo.jiaxing.example")).first(),
    }


# Who signs in (None: nobody), and the pages they see; {names} come from _ids().
PAGES = {
    "anonymous": (
        None,
        [
            "/",
            "/datasets/",
            "/datasets/?q=公交",
            "/datasets/{dataset}",
            "/datasets/{dataset}/resources/{resource}/preview",
            "/applications/",
            "/applications/{application}",
            "/contest/",
            "/contest/{contest}",
            "/contest/{contest}/rounds/{round}/ranking",
            "/stats/",
            "/stats/methodology",
            "/stats/quality",
            "/api/v1/",
            "/datasets/{dataset}/resources/{resource}/table",
            "/datasets/{dataset}/reports",
            "/datasets/{dataset}/comments",
            "/account/sign-in",
            "/account/forgot-password",
            "/account/sign-up",
            "/no-such-page",
        ],
    ),
    "developer": (
        "developer@demo.jiaxing.example",
        [
            "/account/",
            "/account/api-tokens",
            "/account/downloads",
            "/account/access-requests",
            "/account/password",
            "/datasets/{dataset}/reports/new",
        ],
    ),
    "county team": (
        "team-330402@demo.jiaxing.example",
        [
            "/applications/team",
            "/applications/board",
            "/applications/new",
            "/applications/notifications",
            "/contest/teams/",
            "/contest/teams/{team}",
        ],
    ),
    "data owner": (
        "owner1@demo.jiaxing.example",
        ["/owner/", "/admin/access-requests", "/admin/reports"],
    ),
    "judge": (
        "judge1@demo.jiaxing.example",
        ["/contest/judging/", "/contest/judging/assignments/{assignment}"],
    ),
    "admin": (
        "admin@demo.jiaxing.example",
        [
            "/admin/",
            "/admin/users",
            "/admin/users/new",
            "/admin/users/{owner}/departments",
            "/admin/regions",
            "/admin/sync/",
            "/admin/sync/runs/{run}",
            "/admin/sync/health",
            "/admin/sync/holds",
            "/admin/jobs/",
            "/admin/reports",
            "/admin/comments",
            "/admin/metrics/",
            "/admin/metrics/quality",
            "/admin/monitoring/",
            "/admin/access-requests",
            "/applications/team?status=submitted",
            "/contest/admin/",
            "/contest/admin/{contest}",
            "/contest/admin/rounds/{round}",
            "/contest/admin/rounds/{round}/rubric",
            "/contest/admin/rounds/{round}/judges",
            "/contest/admin/rounds/{round}/progress",
            "/contest/admin/rounds/{round}/results",
            "/contest/admin/judges",
        ],
    ),
}

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
CONTROLS = (
    "button, .button, summary, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]),"
    " .main-nav a, .account-nav a, .facet-value, .pager a, .sorts a"
)
SMALL_CONTROLS = f"""path => [...document.querySelectorAll('{CONTROLS}')]
    .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
    .map(el => `${{path}}: ${{el.tagName.toLowerCase()}}.${{el.className}}`
               + ` "${{el.textContent.trim().slice(0, 20)}}"`
               + ` is ${{Math.round(el.getBoundingClientRect().height)}} px high`)"""


def _context(browser, demo: Demo, lang: str, width: int = DESKTOP, **options):
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="zh-CN", **options)
    context.add_cookies([{"name": "lang", "value": lang, "url": demo.url}])
    return context


def _sign_in(page, demo: Demo, email: str) -> None:
    page.goto(f"{demo.url}/account/sign-in")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", demo.passwords[email])
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/sign-in" not in url)


def axe_violations(page) -> list[str]:
    """Run axe-core on the page as it is; one line per violation: rule, impact, elements, what to fix."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [
        f"{v['id']} ({v['impact']}) at {', '.join(' '.join(n['target']) for n in v['nodes'][:5])}"
        f"{' …' if len(v['nodes']) > 5 else ''}: {v['help']}"
        for v in results["violations"]
    ]


@pytest.mark.parametrize("who", PAGES)
def test_every_page_passes_axe_in_both_languages_at_desktop_and_phone_widths(browser, demo, who):
    email, paths = PAGES[who]
    problems = []
    for lang in LANGUAGES:
        context = _context(browser, demo, lang)
        page = context.new_page()
        if email:
            _sign_in(page, demo, email)
        for path in paths:
            path = path.format(**demo.ids)
            page.set_viewport_size({"width": DESKTOP, "height": 844})
            response = page.goto(demo.url + path)
            if response.status != (404 if path == "/no-such-page" else 200):
                problems.append(f"{path} [{lang}]: answered {response.status}")
            for width in (DESKTOP, PHONE, ZOOMED):
                page.set_viewport_size({"width": width, "height": 844})
                where = f"{path} [{lang}, {width} px]"
                if width != ZOOMED:
                    problems += [f"{where}: {line}" for line in axe_violations(page)]
                if width != DESKTOP and (overflow := page.evaluate(OVERFLOW)) > 0:
                    problems.append(f"{where}: the page scrolls sideways by {overflow} px")
        context.close()
    assert not problems, f"{len(problems)} accessibility problem(s) for {who}:\n" + "\n".join(problems)


# With JavaScript off, Playwright cannot evaluate in the page: these checks read the DOM through locators.
@pytest.mark.parametrize("lang", LANGUAGES)
def test_phone_header_is_one_row_and_its_menu_opens_without_javascript(browser, demo, lang):
    context = _context(browser, demo, lang, PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{demo.url}/datasets/")
    assert page.locator(".site-header").bounding_box()["height"] <= 72  # one row (it was 510 px of links)
    catalogue = page.locator(".main-nav a").first
    assert not catalogue.is_visible()
    page.keyboard.press("Tab")  # the skip link comes first, and shows when focused
    assert page.locator(".skip-link:focus").count() == 1
    assert page.locator(".skip-link").bounding_box()["y"] >= 0
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.locator(".menu-toggle summary:focus").count() == 1
    page.keyboard.press("Enter")
    assert catalogue.is_visible() and page.locator(".menu-toggle[open]").count() == 1
    page.keyboard.press("Tab")  # the menu's first link follows its toggle in the focus order
    assert page.locator(".main-nav a:focus").first.get_attribute("href") == "/datasets/"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert not catalogue.is_visible()
    context.close()


def test_phone_catalogue_shows_results_first_and_filters_behind_their_toggle(browser, demo):
    context = _context(browser, demo, "zh_CN", PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{demo.url}/datasets/")
    first_result = page.locator(".dataset-card").first.bounding_box()
    assert first_result["y"] < 500  # above the fold of a 844 px phone screen (it was about 2,400 px down)
    facets = page.locator("#facets")
    assert not facets.is_visible()
    toggle = page.locator(".filters-toggle summary")
    assert toggle.inner_text() == "筛选"
    toggle.click()
    assert facets.is_visible()
    assert page.locator(".facet-value").first.bounding_box()["height"] >= 44
    context.close()


def test_phone_menu_passes_axe_and_its_controls_are_at_least_44_px_high(browser, demo):
    context = _context(browser, demo, "zh_CN", PHONE)
    page = context.new_page()
    problems = []
    for path in ("/", "/datasets/", "/account/sign-in", f"/datasets/{demo.ids['dataset']}"):
        page.goto(demo.url + path)
        page.click(".menu-toggle summary")
        page.click(".filters-toggle summary") if path == "/datasets/" else None
        problems += [f"{path} (menu open): {line}" for line in axe_violations(page)]
        problems += page.evaluate(SMALL_CONTROLS, path)
    page.keyboard.press("Shift+Tab")  # from the menu's toggle back to the brand, by keyboard
    focused = "(s => [s.outlineStyle, s.outlineWidth, s.boxShadow])(getComputedStyle(document.activeElement))"
    style, width, shadow = page.evaluate(focused)
    assert (style, width) == ("solid", "3px") and "255, 221, 0" in shadow  # a dark ring round a yellow one
    assert not problems, "\n".join(problems)
    context.close()


def test_larger_text_switch_works_without_javascript_and_stays_accessible(browser, demo):
    plain = _context(browser, demo, "zh_CN", PHONE, java_script_enabled=False)
    page = plain.new_page()
    page.goto(f"{demo.url}/datasets/?q=公交")
    page.click(".menu-toggle summary")
    switch = page.locator("[data-testid=text-size]")
    assert switch.get_attribute("aria-pressed") == "false"
    switch.click()
    page.wait_for_load_state()
    assert page.url == f"{demo.url}/datasets/?q=%E5%85%AC%E4%BA%A4"  # back where it was asked from
    assert page.locator("html.text-large").count() == 1
    cookies = plain.cookies()
    assert [c["value"] for c in cookies if c["name"] == "text_size"] == ["large"]
    plain.close()

    context = _context(browser, demo, "en", PHONE)
    context.add_cookies([c for c in cookies if c["name"] == "text_size"])
    page = context.new_page()
    root_size = "parseFloat(getComputedStyle(document.documentElement).fontSize)"
    problems = []
    for path in ("/", "/datasets/?q=公交", f"/datasets/{demo.ids['dataset']}"):
        page.goto(demo.url + path)
        assert page.evaluate(root_size) == 20  # 125 % of 16 px, remembered on every page
        for width in (PHONE, DESKTOP):
            page.set_viewport_size({"width": width, "height": 844})
            problems += [f"{path} [large text, {width} px]: {line}" for line in axe_violations(page)]
            if (overflow := page.evaluate(OVERFLOW)) > 0:
                problems.append(
                    f"{path} [large text, {width} px]: the page scrolls sideways by {overflow} px"
                )
    assert not problems, "\n".join(problems)
    switch = page.locator("[data-testid=text-size]")  # at desktop width it sits in the header row
    assert switch.get_attribute("aria-pressed") == "true"
    switch.click()
    page.wait_for_load_state()
    assert page.evaluate(root_size) == 16
    context.close()
