"""The larger-text switch (适老化): a form in the header, a cookie, a class on <html>; no script needed."""

from __future__ import annotations

import re

import pytest


def header_switch(html: str) -> str:
    return re.search(r'<form class="text-size".*?</form>', html, re.S).group(0)


def test_switch_sets_the_cookie_and_goes_back_to_the_page(client):
    response = client.post("/text-size", data={"size": "large", "next": "/datasets/?q=交通&page=2"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/datasets/?q=%E4%BA%A4%E9%80%9A&page=2"  # the same, encoded
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("text_size=large;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie  # remembered for a year


def test_pages_carry_the_large_text_class_and_the_switch_says_it_is_on(client):
    plain = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in plain
    assert 'aria-pressed="false"' in header_switch(plain) and 'value="large"' in header_switch(plain)
    client.post("/text-size", data={"size": "large", "next": "/"})
    large = client.get("/datasets/").get_data(as_text=True)
    assert '<html lang="zh-CN" class="text-large">' in large
    switch = header_switch(large)
    assert 'aria-pressed="true"' in switch and 'value="normal"' in switch and ">大字模式</button>" in switch
    assert 'name="next" value="/datasets/"' in switch


def test_switching_back_clears_the_cookie(client):
    client.post("/text-size", data={"size": "large", "next": "/"})
    response = client.post("/text-size", data={"size": "normal", "next": "/stats/"})
    assert response.headers["Location"] == "/stats/"
    assert response.headers["Set-Cookie"].startswith("text_size=;")  # expired
    assert 'class="text-large"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",  # browsers read the backslash as a slash
        "/\t/evil.example/",  # and drop tabs and newlines
        "/\n/evil.example/",
        "javascript:alert(1)",
        "",
        None,
    ],
)
def test_switch_never_redirects_off_the_site(client, target):
    data = {"size": "large"} | ({"next": target} if target is not None else {})
    response = client.post("/text-size", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_an_unknown_size_is_the_normal_size_and_get_is_refused(client):
    response = client.post("/text-size", data={"size": "<script>", "next": "/"})
    assert response.status_code == 302 and response.headers["Set-Cookie"].startswith("text_size=;")
    assert client.get("/text-size").status_code == 405


def test_a_forged_cookie_value_is_ignored(client):
    client.set_cookie("text_size", '"><script>alert(1)</script>')
    html = client.get("/").get_data(as_text=True)
    assert "text-large" not in html.split("<head>")[0] and "<script>alert" not in html


def test_language_switch_refuses_the_same_disguised_targets(client):
    response = client.post("/language", data={"lang": "en", "next": "/\\evil.example/"})
    assert response.headers["Location"] == "/"
