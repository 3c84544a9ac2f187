"""The DCAT catalogue in Turtle and JSON-LD, parsed back with rdflib."""

from __future__ import annotations

import json
import warnings

import pytest
from api_factories import package, publish, withdraw
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, XSD

HYDRA = "http://www.w3.org/ns/hydra/core#"
HOSTILE = '恶意标题"}]</script><script>alert(1)</script>\\ \n第二行 {"@id": "x"}'
FORMATS = {"/catalog.ttl": "turtle", "/catalog.jsonld": "json-ld"}


@pytest.fixture
def catalogue(app, tmp_path):
    publish(
        tmp_path,
        [
            package(1, title="海宁市公交站点", formats=("CSV", "XLSX")),
            package(2, title=HOSTILE, org="jx-jtysj", formats=("API",)),
            package(3, title="南湖区医疗机构名录", org="nh-wjj", groups=("ylws",), condition="有条件开放"),
        ],
    )


def graph_of(client, path: str) -> Graph:
    response = client.get(path)
    assert response.status_code == 200, response.data[:300]
    with warnings.catch_warnings():
        # rdflib 7's JSON-LD parser builds a ConjunctiveGraph internally and warns about itself.
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return Graph().parse(data=response.get_data(as_text=True), format=FORMATS[path.split("?")[0]])


def titles(graph: Graph) -> set[str]:
    return {str(graph.value(d, DCTERMS.title)) for d in graph.subjects(RDF.type, DCAT.Dataset)}


@pytest.mark.parametrize("path", list(FORMATS))
def test_catalogue_holds_every_published_dataset(client, catalogue, path):
    withdraw("api-dataset-003")
    graph = graph_of(client, path)
    catalog = graph.value(predicate=RDF.type, object=DCAT.Catalog)
    assert catalog == URIRef("http://localhost/")
    assert len(list(graph.objects(catalog, DCAT.dataset))) == 2
    assert titles(graph) == {"海宁市公交站点", HOSTILE}


def test_turtle_and_json_ld_say_the_same(client, catalogue):
    turtle, json_ld = graph_of(client, "/catalog.ttl"), graph_of(client, "/catalog.jsonld")
    assert len(turtle) == len(json_ld)
    assert titles(turtle) == titles(json_ld)


def test_a_dataset_carries_its_dcat_properties(client, catalogue):
    graph = graph_of(client, "/catalog.ttl")
    dataset = URIRef("http://localhost/datasets/api-dataset-001")
    assert (dataset, RDF.type, DCAT.Dataset) in graph
    assert graph.value(dataset, DCTERMS.identifier) == Literal(package(1)["id"])
    assert graph.value(dataset, DCAT.landingPage) == dataset
    assert str(graph.value(dataset, DCTERMS.description)) == "第1个**数据集**的说明。"
    modified = graph.value(dataset, DCTERMS.modified)
    assert (modified.datatype, modified.toPython().isoformat()) == (
        XSD.dateTime,
        "2025-03-02T08:01:00.123456+00:00",
    )
    assert {str(k) for k in graph.objects(dataset, DCAT.keyword)} == {"公交", "站点"}
    publisher = graph.value(dataset, DCTERMS.publisher)
    assert str(graph.value(publisher, FOAF.name)) == "海宁市交通运输局"
    theme = graph.value(dataset, DCAT.theme)
    assert theme == URIRef("http://localhost/datasets/?theme=jtcx")
    licence = graph.value(dataset, DCTERMS.license)
    assert licence == URIRef("http://www.opendefinition.org/licenses/cc-by")


def test_distributions_have_download_links_formats_and_sizes(client, catalogue):
    graph = graph_of(client, "/catalog.ttl")
    dataset = URIRef("http://localhost/datasets/api-dataset-001")
    distributions = {
        str(graph.value(d, DCTERMS["format"])): d for d in graph.objects(dataset, DCAT.distribution)
    }
    assert set(distributions) == {"CSV", "XLSX"}
    csv = distributions["CSV"]
    resource_id = package(1)["resources"][0]["id"]
    link = URIRef(f"http://localhost/datasets/api-dataset-001/resources/{resource_id}/download")
    assert graph.value(csv, DCAT.accessURL) == link
    assert graph.value(csv, DCAT.downloadURL) == link
    assert graph.value(csv, DCAT.byteSize).toPython() == 1024
    api = next(graph.objects(URIRef("http://localhost/datasets/api-dataset-002"), DCAT.distribution))
    assert graph.value(api, DCAT.accessURL) is not None
    assert graph.value(api, DCAT.downloadURL) is None  # an API is reached, not downloaded


def test_a_hostile_title_is_only_ever_a_literal(client, catalogue):
    response = client.get("/catalog.jsonld")
    assert response.mimetype == "application/ld+json"
    document = json.loads(response.get_data(as_text=True))  # still well-formed JSON
    (node,) = [n for n in document["@graph"] if n["@id"] == "http://localhost/datasets/api-dataset-002"]
    assert node["dct:title"] == {"@language": "zh", "@value": HOSTILE}
    assert "x" not in {n["@id"] for n in document["@graph"]}
    for path in FORMATS:
        graph = graph_of(client, path)
        (dataset,) = graph.subjects(DCTERMS.title, Literal(HOSTILE, lang="zh"))
        assert dataset == URIRef("http://localhost/datasets/api-dataset-002")
        assert not any("alert" in str(node) for node in graph.all_nodes() if isinstance(node, URIRef))


def test_turtle_is_served_as_turtle(client, catalogue):
    assert client.get("/catalog.ttl").mimetype == "text/turtle"


def test_large_catalogues_come_in_pages_linked_with_hydra(app, client, catalogue, monkeypatch):
    monkeypatch.setitem(app.config, "DCAT_PAGE_SIZE", 2)
    first, second = graph_of(client, "/catalog.ttl"), graph_of(client, "/catalog.ttl?page=2")
    assert len(titles(first)) == 2 and len(titles(second)) == 1
    assert titles(first) | titles(second) == {"海宁市公交站点", HOSTILE, "南湖区医疗机构名录"}
    page = URIRef("http://localhost/catalog.ttl?page=1")
    assert first.value(page, URIRef(HYDRA + "totalItems")).toPython() == 3
    assert str(first.value(page, URIRef(HYDRA + "nextPage"))) == "http://localhost/catalog.ttl?page=2"
    assert client.get("/catalog.ttl?page=3").status_code == 404
    assert client.get("/catalog.jsonld?page=two").status_code == 400
