"""Loading a page of results: cards read in one statement built once, in the order asked."""

from __future__ import annotations

from calls import python_calls
from catalogue_factories import make_dataset
from sqlalchemy import bindparam, select

from portal.catalogue import loading
from portal.catalogue.models import Dataset
from portal.extensions import db


def test_cards_come_in_the_order_asked_with_their_formats_and_themes(app):
    first = make_dataset(title="甲", themes=["交通"], resources=[{"format": "XLSX"}, {"format": "CSV"}])
    second = make_dataset(title="乙", resources=[])
    db.session.commit()
    cards = loading.load_cards([second.id, 10**6, first.id])
    assert [card.title for card in cards] == ["乙", "甲"]
    assert cards[1].formats == ("CSV", "XLSX") and cards[1].themes == ("交通",) and cards[0].formats == ()


def test_a_page_of_cards_costs_fewer_python_calls_than_building_its_statement(app):
    ids = [make_dataset(title=f"数据集{n}").id for n in range(20)]
    db.session.commit()
    loading.load_cards(ids)  # the statement is compiled once per database
    assert python_calls(lambda: loading.load_cards(ids)) < python_calls(loading._cards_statement)


def test_versions_come_in_the_order_asked_and_their_statement_is_not_rewritten_per_page(app):
    ids = [make_dataset(title=f"数据集{n}", download_count=n).id for n in range(20)]
    db.session.commit()
    asked = [*reversed(ids[5:]), 10**6]
    versions = loading.load_versions(asked)
    assert [v.id for v in versions] == asked[:-1] and [v.download_count for v in versions] == list(
        range(19, 4, -1)
    )
    loading.load_versions(ids)  # compiled once per database and number of ids
    expanding = select(*loading.VERSION_COLUMNS).where(Dataset.id.in_(bindparam("ids", expanding=True)))
    db.session.connection().execute(expanding, {"ids": ids}).all()

    def rewritten_per_run():
        return [loading.Version(*row) for row in db.session.connection().execute(expanding, {"ids": ids})]

    assert python_calls(lambda: loading.load_versions(ids)) < python_calls(rewritten_per_run)


def test_the_dataset_page_reads_on_a_cursor_the_values_a_session_reads(app):
    """load_page_dataset runs its statements on a DBAPI cursor outside the session: each value is the one
    SQLAlchemy gives (times with their zone, the extras' JSON, booleans, floats), for every column."""
    from catalogue_factories import make_department

    from portal.catalogue.models import Licence
    from portal.catalogue.quality import LinkCheck
    from portal.dbtypes import utcnow

    made = make_dataset(
        department=make_department(title="嘉兴市交通运输局"),
        themes=["城建", "交通"],
        tags=["b", "A", "厕所"],
        resources=[{"format": "CSV", "storage_key": "a/b.csv", "size": 12}, {"format": "XLSX"}],
        extras={"update_frequency": "每月", "层级": {"a": [1, 2.5]}},
    )
    made.licence = Licence(id="cc-by", title="CC BY 4.0", url="https://creativecommons.org/licenses/by/4.0/")
    made.rating_mean, made.rating_count = 4.25, 3
    made.withdrawn_at = utcnow()
    db.session.add(LinkCheck(resource_id=made.resources[1].id, broken=True, checked_at=utcnow()))
    db.session.commit()
    parameters = {"id": made.id}
    for statement, raw in zip(
        (loading._PAGE_DATASET, loading._PAGE_RESOURCES, loading._PAGE_NAMES),
        loading._raw_statements(db.engine.dialect),
        strict=True,
    ):
        expected = [tuple(row) for row in db.session.connection().execute(statement, parameters)]
        with loading.changes.raw_cursor() as cursor:
            rows = raw.rows(cursor, parameters)
        assert rows == expected and rows
        assert [[type(v) for v in row] for row in rows] == [[type(v) for v in row] for row in expected]
    loaded = loading.load_page_dataset(made.id)
    assert loaded.extras == made.extras and loaded.metadata_modified == made.metadata_modified
    assert loaded.metadata_modified.tzinfo is not None and loaded.licence.title == made.licence.title
    assert loaded.department.title == "嘉兴市交通运输局" and loaded.broken_resource_ids == {
        made.resources[1].id
    }
    assert loading.load_page_dataset(10**6) is None
