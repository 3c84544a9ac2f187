"""/api/v1/: readable API documentation rendered from the OpenAPI document, its links from the header,
footer and token page, and curl examples that URL-encode Chinese (issue 19 item 3)."""

from __future__ import annotations

import html
import re
import shlex
from urllib.parse import urlencode, urlsplit

import pytest
from catalogue_factories import make_dataset

from portal.api import docs
from portal.extensions import db

PUBLIC = "https://data.jiaxing.gov.cn"


def page_text(client, path="/api/v1/", **kwargs) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def article(page: str, operation_id: str) -> str:
    found = re.search(rf'<article class="api-operation" id="op-{operation_id}".*?</article>', page, re.S)
    assert found, f"{operation_id} is not documented"
    return found.group(0)


def curls(text: str) -> list[str]:
    return re.findall(r'<pre class="curl"><code>(.*?)</code></pre>', text, re.S)


def test_the_page_documents_every_operation_of_openapi_json(client):
    document = client.get("/api/v1/openapi.json").get_json()
    page = page_text(client)
    operations = 0
    for path, item in document["paths"].items():
        for method, spec in item.items():
            section = article(page, spec["operationId"])
            assert f'<span class="method">{method.upper()}</span> <code class="path">{path}</code>' in section
            for parameter in spec.get("parameters", []):
                assert f'data-parameter="{parameter["name"]}"' in section
            for status in spec["responses"]:
                assert f'data-status="{status}"' in section
            tag = spec["tags"][0]
            assert section in page[page.index(f'data-tag="{tag}"') :]  # under its tag's heading
            operations += 1
    assert page.count('<article class="api-operation"') == operations
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in page


def test_the_search_example_url_encodes_chinese_and_finds_the_dataset(client):
    make_dataset(title="嘉兴市交通运输站点", name="transport-stops")
    db.session.commit()
    page = page_text(client)
    example = next(c for c in curls(article(page, "listDatasets")) if "q=交通" in c)
    assert "-G --data-urlencode 'q=交通'" in example
    assert "-H 'Authorization: Bearer <token>'" in example
    words = shlex.split(example)
    pairs = [tuple(words[i + 1].split("=", 1)) for i, w in enumerate(words) if w == "--data-urlencode"]
    url = urlsplit(words[-1])
    found = client.get(f"{url.path}?{urlencode(pairs)}").get_json()  # what curl -G sends
    assert "q=%E4%BA%A4%E9%80%9A" in urlencode(pairs)
    assert [d["name"] for d in found["items"]] == ["transport-stops"]


def test_path_parameters_read_as_placeholders_curl_does_not_glob():
    command = docs.curl("http://portal.intranet", "/api/v1/datasets/<name>")
    assert command.endswith("'http://portal.intranet/api/v1/datasets/<name>'")
    assert "{" not in command


def test_the_base_url_follows_the_request_without_public_base_url(make_app, app):
    client = make_app(SERVER_NAME=None).test_client()
    page = page_text(client, headers={"Host": "portal.intranet:8000"})
    assert '<code data-testid="api-base">http://portal.intranet:8000/api/v1</code>' in page
    assert "http://portal.intranet:8000/api/v1/datasets" in page


def test_the_base_url_comes_from_public_base_url(make_app, app):
    client = make_app(PUBLIC_BASE_URL=PUBLIC, SERVER_NAME=None).test_client()
    page = page_text(client, headers={"Host": "evil.example.com"})
    assert f'<code data-testid="api-base">{PUBLIC}/api/v1</code>' in page
    assert "evil.example.com" not in page


def test_a_json_client_gets_an_index_of_links(client):
    answer = client.get("/api/v1/", headers={"Accept": "application/json"})
    assert answer.status_code == 200 and "Accept" in answer.headers["Vary"]
    body = answer.get_json()
    assert body["openapi"].endswith("/api/v1/openapi.json")
    for url in body["links"].values():
        assert client.get(urlsplit(url).path).status_code == 200
    assert client.get("/api/v1/", headers={"Accept": "text/html,*/*;q=0.8"}).mimetype == "text/html"


def test_a_missing_api_path_keeps_the_json_error_envelope(client):
    answer = client.get("/api/v1/nothing-here", headers={"Accept": "text/html"})
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == 404


@pytest.mark.parametrize("role", [None, "admin", "county_member", "judge", "developer"])
def test_everyone_may_read_the_documentation(client, login, role):
    if role:
        login(role)
    assert client.get("/api/v1/").status_code == 200


@pytest.mark.parametrize(
    ("lang", "words"),
    [("zh_CN", ["接口文档", "基础地址：", "参数", "响应内容"]),
     ("en", ["API documentation", "Base URL:", "Parameter", "Response bodies"])],
)  # fmt: skip
def test_the_page_reads_in_both_languages(client, lang, words):
    client.set_cookie("lang", lang)
    page = page_text(client)
    for word in words:
        assert word in page


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_header_and_footer_link_the_documentation(client, lang):
    client.set_cookie("lang", lang)
    page = page_text(client, "/")
    header = page[page.index('<nav class="main-nav"') : page.index("</nav>")]
    footer = page[page.index('<footer class="site-footer"') :]
    assert 'href="/api/v1/"' in header
    assert 'href="/api/v1/"' in footer


@pytest.mark.parametrize(("lang", "label"), [("zh_CN", "接口文档"), ("en", "API documentation")])
def test_the_token_page_gives_base_url_example_and_link(client, login, lang, label):
    login("developer")
    client.set_cookie("lang", lang)
    page = page_text(client, "/account/api-tokens")
    assert '<code data-testid="api-base">http://localhost/api/v1</code>' in page
    assert (
        "curl -G --data-urlencode 'q=交通' -H 'Authorization: Bearer <token>' http://localhost/api/v1/datasets"
        in page
    )
    assert f'<a href="/api/v1/">{label}</a>' in page
