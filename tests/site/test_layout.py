"""Small things a new user trips over: copying a new token, centred sign-in cards, spacing under the header,
and a dataset picker that tells equal titles apart (issue 19 item 18)."""

from __future__ import annotations

import re

from catalogue_factories import make_dataset, make_department

from portal.extensions import db
from portal.headers import CSP


def css_rule(css: str, selector: str) -> str:
    return re.search(rf"(?m)^{re.escape(selector)} \{{([^}}]*)\}}", css).group(1)


def test_new_token_is_a_readonly_field_with_a_copy_button_from_a_static_script(client, login):
    login("developer")
    response = client.post("/account/api-tokens", data={"name": "停车导航小程序"})
    html = response.get_data(as_text=True)
    field = re.search(r'<input id="new-token"[^>]*>', html, re.S).group(0)
    assert "readonly" in field and 'class="secret"' in field
    assert re.search(r'value="[^"]{20,}"', field)  # the whole token, selectable without any script
    button = re.search(r'<button[^>]*data-copy="new-token"[^>]*>([^<]*)</button>', html, re.S)
    assert button and button.group(1) == "复制"
    assert " hidden>" in button.group(0)  # shown by the script only, so no dead button without JavaScript
    assert '<script src="/static/js/copy.js" defer></script>' in html
    assert "<script>" not in html and " onclick=" not in html  # the CSP allows no inline script
    assert "script-src 'self'" in response.headers["Content-Security-Policy"] == CSP


def test_copy_script_is_served_from_static_and_copies_the_named_field(client):
    response = client.get("/static/js/copy.js")
    script = response.get_data(as_text=True)
    assert response.status_code == 200 and "javascript" in response.content_type
    assert "button[data-copy]" in script and "navigator.clipboard.writeText(field.value)" in script


def test_token_does_not_wrap_at_hyphens(client):
    css = client.get("/static/css/site.css").get_data(as_text=True)
    rule = css_rule(css, "input.secret")
    assert "white-space: nowrap" in rule and "overflow-x: auto" in rule
    assert "monospace" in css_rule(css, ".secret")


def test_sign_in_and_sign_up_cards_are_centred(client):
    css = client.get("/static/css/site.css").get_data(as_text=True)
    assert "margin-left: auto; margin-right: auto" in css_rule(css, ".centred")
    for path in ("/account/sign-in", "/account/sign-up"):
        html = client.get(path).get_data(as_text=True)
        assert 'class="card narrow centred" data-testid="auth-card"' in html, path


def test_content_keeps_clear_of_the_header(client):
    css = client.get("/static/css/site.css").get_data(as_text=True)
    assert "padding-top: 2rem" in css_rule(css, "main")


def picker_world():
    jiashan = make_department(region_code="330421", title="嘉善县交通运输局")
    haining = make_department(region_code="330481", title="海宁市交通运输局")
    first = make_dataset(title="公交站点", department=jiashan)
    second = make_dataset(title="公交站点", department=haining)
    db.session.commit()
    return first, second


def test_picker_choices_show_department_and_county_beside_equal_titles(app, client, login):
    login("county_member", region_code="330402")
    first, second = picker_world()
    html = client.post(
        "/applications/new", data={"dataset_q": "公交", "find": "y", "form_token": "t"}
    ).get_data(as_text=True)
    metas = dict(
        re.findall(
            r'value="(\d+)"> 公交站点 <span class="picker-meta" data-testid="picker-meta">([^<]*)</span>',
            html,
        )
    )
    assert metas == {str(first.id): "嘉善县交通运输局 · 嘉善县", str(second.id): "海宁市交通运输局 · 海宁市"}


def test_picker_json_carries_department_and_county_in_the_page_language(app, client, login):
    login("county_member", region_code="330402")
    first, second = picker_world()
    client.set_cookie("lang", "en")
    items = client.get("/applications/dataset-choices?q=公交").get_json()["items"]
    found = {i["id"]: (i["department"], i["county"]) for i in items}
    assert found == {
        first.id: ("嘉善县交通运输局", "Jiashan County"),
        second.id: ("海宁市交通运输局", "Haining City"),
    }
