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
