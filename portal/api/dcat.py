"""The catalogue in DCAT, for other portals: /catalog.jsonld (JSON-LD) and /catalog.ttl (Turtle).

One page of published datasets per request, `DCAT_PAGE_SIZE` (default 200) at a time, with
Hydra paging links as ckanext-dcat gives them (`?page=2` …). A page costs one query per related
table and about 30 triples per dataset to build and serialise with rdflib: one to two seconds
for 200 datasets, Turtle being the slower. Paging keeps that bounded however large the
catalogue grows. The pages share the API's rate limits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app, request, url_for
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS, XSD
from sqlalchemy import func, select

from portal.api import auth, serializers, v1
from portal.catalogue import rules
from portal.catalogue.models import Dataset, Department
from portal.extensions import db

bp = Blueprint("dcat", __name__)
bp.after_request(v1.record_call)  # metered as /api/v1 is

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
PAGE_SIZE = 200
# A page costs one row, not its datasets: DCAT harvesters carry no token, and at 60 pages a minute an
# anonymous one reads 12,000 datasets a minute (`costs.dcat_pages`), while a page stays cheap to serve.
auth.rate_limit(bp)
LANGUAGE = "zh"
CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "skos": str(SKOS), "hydra": str(HYDRA),
           "xsd": str(XSD)}  # fmt: skip
_HTTP_URL = re.compile(r"https?://[^\s<>\"{}|\\^`]+")
_CONDITIONS = serializers.OPEN_CONDITION_LABELS


@bp.get("/catalog.jsonld")
def catalog_jsonld():
    text = _page_graph("catalog_jsonld").serialize(format="json-ld", context=CONTEXT, auto_compact=True)
    return Response(text, content_type="application/ld+json; charset=utf-8")


@bp.get("/catalog.ttl")
def catalog_ttl():
    return Response(
        _page_graph("catalog_ttl").serialize(format="turtle"), content_type="text/turtle; charset=utf-8"
    )


def _page_graph(endpoint: str) -> Graph:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        abort(400)
    per_page = int(current_app.config.get("DCAT_PAGE_SIZE", PAGE_SIZE))
    total = db.session.scalar(select(func.count()).where(rules.published()))
    last = max(1, -(-total // per_page))
    if not 1 <= page <= last:
        abort(404)
    datasets = db.session.scalars(
        select(Dataset)
        .where(rules.published())
        .order_by(Dataset.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .options(*rules.relation_options())
    ).all()
    graph = catalog_graph(datasets, modified=db.session.scalar(select(func.max(Dataset.metadata_modified))))
    pages = {"first": 1, "last": last, "previous": page - 1 if page > 1 else None,
             "next": page + 1 if page < last else None}  # fmt: skip
    paging = URIRef(url_for(f"dcat.{endpoint}", page=page, _external=True))
    graph.add((paging, RDF.type, HYDRA.PagedCollection))
    graph.add((paging, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    graph.add((paging, HYDRA.itemsPerPage, Literal(per_page, datatype=XSD.integer)))
    for name, number in pages.items():
        if number is not None:
            graph.add(
                (
                    paging,
                    HYDRA[f"{name}Page"],
                    Literal(url_for(f"dcat.{endpoint}", page=number, _external=True)),
                )
            )
    return graph


def catalog_graph(datasets: list[Dataset], *, modified: datetime | None) -> Graph:
    """Return a dcat:Catalog of `datasets` with their publishers, themes and distributions."""
    graph = Graph()
    graph.bind("dcat", DCAT)
    graph.bind("dct", DCTERMS)
    graph.bind("foaf", FOAF)
    graph.bind("skos", SKOS)
    graph.bind("hydra", HYDRA)
    catalog = URIRef(url_for("site.home", _external=True))  # PUBLIC_BASE_URL, never the Host header
    title = current_app.config.get("SITE_TITLE", "嘉兴市公共数据开放平台")
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal(title, lang=LANGUAGE)))
    graph.add((catalog, DCTERMS.description, Literal(f"{title}的开放数据目录", lang=LANGUAGE)))
    graph.add((catalog, FOAF.homepage, catalog))
    graph.add((catalog, DCTERMS.language, Literal("zh-CN")))
    if modified is not None:
        graph.add((catalog, DCTERMS.modified, _time(modified)))
    publishers: dict[int, BNode] = {}
    for dataset in datasets:
        node = _add_dataset(graph, dataset, publishers)
        graph.add((catalog, DCAT.dataset, node))
    return graph


def _time(moment: datetime) -> Literal:
    return Literal(moment.astimezone(UTC), datatype=XSD.dateTime)


def _text(value: str) -> Literal:
    return Literal(value, lang=LANGUAGE)


def _add_dataset(graph: Graph, d: Dataset, publishers: dict[int, BNode]) -> URIRef:
    node = URIRef(serializers.dataset_page_url(d))
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(d.ckan_id)))
    graph.add((node, DCTERMS.title, _text(d.title)))
    if d.notes:
        graph.add((node, DCTERMS.description, _text(d.notes)))
    graph.add((node, DCAT.landingPage, node))
    graph.add((node, DCTERMS.modified, _time(d.metadata_modified)))
    if d.metadata_created:
        graph.add((node, DCTERMS.issued, _time(d.metadata_created)))
    graph.add((node, DCTERMS.accessRights, _text(_CONDITIONS.get(d.open_condition, ""))))
    for tag in d.tags:
        graph.add((node, DCAT.keyword, _text(tag.name)))
    for theme in d.themes:
        concept = URIRef(
            serializers.link("catalogue.index", f"/datasets/?theme={theme.name}", theme=theme.name)
        )
        graph.add((node, DCAT.theme, concept))
        graph.add((concept, RDF.type, SKOS.Concept))
        graph.add((concept, SKOS.prefLabel, _text(theme.title)))
    if d.department is not None:
        graph.add((node, DCTERMS.publisher, _publisher(graph, d.department, publishers)))
    if d.licence is not None:
        graph.add((node, DCTERMS.license, _licence(graph, d.licence)))
    for resource in serializers.active_resources(d):
        graph.add((node, DCAT.distribution, _add_distribution(graph, node, resource)))
    return node


def _publisher(graph: Graph, department: Department, publishers: dict[int, BNode]) -> BNode:
    if department.id not in publishers:
        agent = publishers[department.id] = BNode()
        graph.add((agent, RDF.type, FOAF.Organization))
        graph.add((agent, FOAF.name, _text(department.title)))
        graph.add((agent, DCTERMS.identifier, Literal(department.name)))
        if department.region is not None:
            graph.add((agent, DCTERMS.spatial, _text(department.region.name)))
    return publishers[department.id]


def _licence(graph: Graph, licence) -> URIRef | BNode:
    """Return the licence's own URL when it is a plain http(s) one, else a node with its title."""
    node = URIRef(licence.url) if licence.url and _HTTP_URL.fullmatch(licence.url) else BNode()
    graph.add((node, RDF.type, DCTERMS.LicenseDocument))
    graph.add((node, DCTERMS.title, Literal(licence.title)))
    graph.add((node, DCTERMS.identifier, Literal(licence.id)))
    return node


def _add_distribution(graph: Graph, dataset_node: URIRef, r) -> URIRef:
    node = URIRef(f"{dataset_node}#resource-{r.ckan_id}")
    url = URIRef(serializers.download_url(r))
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.identifier, Literal(r.ckan_id)))
    if r.name:
        graph.add((node, DCTERMS.title, _text(r.name)))
    if r.description:
        graph.add((node, DCTERMS.description, _text(r.description)))
    graph.add((node, DCAT.accessURL, url))
    if r.format and r.format != "API":
        graph.add((node, DCAT.downloadURL, url))
    if r.format:
        graph.add((node, DCTERMS["format"], Literal(r.format)))
    if r.mimetype and re.fullmatch(r"[\w.+-]+/[\w.+-]+", r.mimetype):
        graph.add(
            (node, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{r.mimetype}"))
        )
    if r.size is not None:
        graph.add((node, DCAT.byteSize, Literal(r.size, datatype=XSD.nonNegativeInteger)))
    return node
