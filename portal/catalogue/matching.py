"""Match text against the catalogue's full-text index, on SQLite and PostgreSQL alike.

The text index holds each dataset's terms (catalogue/terms.py) in `dataset_search`: title,
tags, and a body of notes, department, themes and extras values. SQLite searches them
through an FTS5 table ranked by bm25 with column weights; PostgreSQL through a generated
tsvector, weighted A/B/C, ranked by ts_rank_cd. Both rank a title match above a tag match
above a body match (see `match`). The one way the catalogue matches text: the pages and
/api/v1 through `match`, the CKAN-compatible API's Solr queries through `text_condition`
and `text_scores`; never a LIKE scan over the texts. Domain code: it only reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    any_,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects import postgresql

from portal.catalogue import terms
from portal.catalogue.models import Dataset
from portal.dbschema import FTS_TABLE, VECTOR_COLUMN
from portal.extensions import db

# Column weights, which order the datasets within a tier of `match`.
BM25_WEIGHTS = (10.0, 4.0, 1.0)  # title, tags, body
TS_WEIGHTS = "{0.01, 0.02, 0.1, 1.0}"  # D (unused), C body, B tags, A title


class Match(NamedTuple):
    condition: ColumnElement  # "the dataset is one of the matches", with their ids bound as one value
    rank: dict[int, tuple[int, float]]  # dataset id -> (tier, score); the lower ranks first


def match(units: list[terms.Unit]) -> Match:
    """Run the full-text match once; the count, the page and the facets reuse its ids.

    Ranking: a dataset whose title holds the whole query comes first (tier 0), then one
    whose title and tags hold it (tier 1), then the rest (tier 2); within a tier, by bm25
    or ts_rank_cd with the column weights. The tiers make the order of title, tag and body
    matches a rule, where weights alone can be outvoted by many mentions in a long text.
    """
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        index = table("dataset_search", column("dataset_id"), column(VECTOR_COLUMN))
        vector, dataset_id = index.c[VECTOR_COLUMN], index.c.dataset_id

        def tsquery(weights: str = ""):  # weights A, AB: only lexemes of the title, of title and tags
            return cast(literal(terms.tsquery(units, weights)), postgresql.TSQUERY)

        everywhere = vector.op("@@")(tsquery())
        in_title, in_title_or_tags = vector.op("@@")(tsquery("A")), vector.op("@@")(tsquery("AB"))
        score = -func.ts_rank_cd(literal_column(f"'{TS_WEIGHTS}'::float4[]"), vector, tsquery())
    else:
        fts = table(FTS_TABLE, column("rowid"))
        name, dataset_id = literal_column(FTS_TABLE), fts.c.rowid

        def matching(columns: tuple[str, ...] = ()):
            return name.op("MATCH")(terms.fts5_query(units, columns))

        def within(*columns: str):  # an FTS5 table takes one MATCH per scan: look it up apart
            inner = select(literal_column("rowid")).select_from(fts).where(matching(columns))
            return dataset_id.in_(inner.correlate(None))

        everywhere, score = matching(), func.bm25(name, *BM25_WEIGHTS)
        in_title, in_title_or_tags = within("title_terms"), within("title_terms", "tag_terms")
    tier = case((in_title, 0), (in_title_or_tags, 1), else_=2)
    rows = db.session.execute(select(dataset_id, tier, score).where(everywhere))
    rank = {row[0]: (row[1], row[2]) for row in rows}
    if postgres:
        condition = Dataset.id == any_(literal(list(rank), postgresql.ARRAY(Integer)))
    else:
        matched = func.json_each(literal(json.dumps(list(rank)))).table_valued("value")
        condition = Dataset.id.in_(select(matched.c.value))
    return Match(condition, rank)


# The index's columns, by the names callers use: on SQLite FTS5 columns, on PostgreSQL tsvector weights.
TEXT_COLUMNS = {"title": ("title_terms", "A"), "tags": ("tag_terms", "B"), "body": ("body_terms", "C")}


def text_condition(units: Sequence[terms.Unit], dialect: str, within: str = "") -> ColumnElement[bool]:
    """Return "the dataset's indexed text holds every unit" (`within` one of TEXT_COLUMNS when given),
    answered by the full-text index: one index lookup, never a scan of the texts."""
    if dialect == "postgresql":
        weights = TEXT_COLUMNS[within][1] if within else ""
        index = table("dataset_search", column("dataset_id"), column(VECTOR_COLUMN))
        query = cast(literal(terms.tsquery(list(units), weights)), postgresql.TSQUERY)
        return Dataset.id.in_(select(index.c.dataset_id).where(index.c[VECTOR_COLUMN].op("@@")(query)))
    columns = (TEXT_COLUMNS[within][0],) if within else ()
    fts = table(FTS_TABLE, column("rowid"))
    match = literal_column(FTS_TABLE).op("MATCH")(terms.fts5_query(list(units), columns))
    return Dataset.id.in_(select(fts.c.rowid).where(match))


def text_scores(alternatives: Sequence[Sequence[terms.Unit]], dialect: str):
    """Return a subquery of (dataset_id, score) for the datasets whose text holds any of the
    `alternatives` (each a list of units, all of which must match), the higher score the more
    relevant: bm25 or ts_rank_cd with the catalogue's column weights, one pass over the index."""
    if dialect == "postgresql":
        index = table("dataset_search", column("dataset_id"), column(VECTOR_COLUMN))
        text = " | ".join(f"({terms.tsquery(list(units))})" for units in alternatives)
        query, vector = cast(literal(text), postgresql.TSQUERY), index.c[VECTOR_COLUMN]
        score = func.ts_rank_cd(literal_column(f"'{TS_WEIGHTS}'::float4[]"), vector, query)
        statement = select(index.c.dataset_id, score.label("score")).where(vector.op("@@")(query))
        return statement.subquery("text_scores")
    text = " OR ".join(f"({terms.fts5_query(list(units))})" for units in alternatives)
    fts, name = table(FTS_TABLE, column("rowid")), literal_column(FTS_TABLE)
    score = -func.bm25(name, *BM25_WEIGHTS)
    statement = select(fts.c.rowid.label("dataset_id"), score.label("score")).where(name.op("MATCH")(text))
    return statement.subquery("text_scores")
