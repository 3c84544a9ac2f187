"""Ratings: one per user and dataset, changeable; the mean and count on the page and in the API; the sort."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from catalogue_factories import make_dataset
from factories import make_user
from sqlalchemy import event

from portal.catalogue import ratings, search_cache
from portal.catalogue.ratings import DatasetRating
from portal.extensions import db

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


def test_one_rating_per_user_changeable_and_the_mean_follows(app):
    dataset = make_dataset()
    first, second = make_user(), make_user()
    ratings.rate(dataset, user_id=first.id, stars=5, now=NOW)
    ratings.rate(dataset, user_id=second.id, stars=2, now=NOW)
    assert (dataset.rating_count, dataset.rating_mean) == (2, 3.5)
    ratings.rate(dataset, user_id=second.id, stars=4, now=NOW)
    assert (dataset.rating_count, dataset.rating_mean) == (2, 4.5)
    assert db.session.query(DatasetRating).count() == 2


@pytest.mark.parametrize("stars", [0, 6, -1])
def test_stars_out_of_range_are_refused(app, stars):
    dataset = make_dataset()
    with pytest.raises(ratings.RatingError):
        ratings.rate(dataset, user_id=make_user().id, stars=stars, now=NOW)
    assert dataset.rating_count == 0


@pytest.mark.parametrize("role", [None, "admin", "county_member", "judge", "developer"])
def test_any_signed_in_user_may_rate_through_the_page(app, client, login, role):
    dataset = make_dataset()
    db.session.commit()
    if role:
        login(role)
    response = client.post(f"/datasets/{dataset.name}/rating", data={"stars": "4"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(dataset), dataset.id).rating_count == (1 if role else 0)


def test_bad_stars_are_a_400(app, client, login):
    dataset = make_dataset()
    db.session.commit()
    login()
    for stars in ("", "9", "x", "3.5"):
        assert client.post(f"/datasets/{dataset.name}/rating", data={"stars": stars}).status_code == 400
    assert client.post("/datasets/no-such/rating", data={"stars": "3"}).status_code == 404


def test_page_api_and_sort_agree(app, client, login):
    good, poor, unrated = make_dataset("好数据"), make_dataset("一般数据"), make_dataset("未评分")
    for stars in (5, 4):
        ratings.rate(good, user_id=make_user().id, stars=stars, now=NOW)
    ratings.rate(poor, user_id=make_user().id, stars=2, now=NOW)
    db.session.commit()
    page = client.get(f"/datasets/{good.name}").get_data(as_text=True)
    assert 'data-rating-mean="4.5"' in page and 'data-rating-count="2"' in page
    body = client.get("/api/v1/datasets?sort=rating").json
    assert [d["name"] for d in body["items"]] == [good.name, poor.name, unrated.name]
    assert [d["rating"] for d in body["items"]] == [
        {"mean": 4.5, "count": 2},
        {"mean": 2.0, "count": 1},
        {"mean": None, "count": 0},
    ]
    assert client.get(f"/api/v1/datasets/{good.name}").json["rating"] == {"mean": 4.5, "count": 2}
    listing = client.get("/datasets/?sort=rating").get_data(as_text=True)
    assert listing.index("好数据") < listing.index("一般数据") < listing.index("未评分")


def _statements_of(client, path: str) -> list[str]:
    """The SQL statements one request of `path` runs."""
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return seen


def test_cards_show_the_mean_and_count_read_for_the_whole_page_at_once(app, client):
    rated = [make_dataset(f"评分数据{n}") for n in range(6)]
    unrated = make_dataset("未评分数据")
    for number, dataset in enumerate(rated):
        ratings.rate(dataset, user_id=make_user().id, stars=1 + number % 5, now=NOW)
    ratings.rate(rated[0], user_id=make_user().id, stars=4, now=NOW)
    db.session.commit()
    html = client.get("/datasets/").get_data(as_text=True)
    card = html[html.index(f'data-dataset="{rated[0].name}"') :]
    assert 'data-rating-mean="2.5" data-rating-count="2"' in card[: card.index("</li>")]
    unrated_card = html[html.index(f'data-dataset="{unrated.name}"') :]
    assert "data-rating-count" not in unrated_card[: unrated_card.index("</li>")]
    search_cache.cards.clear()  # every card rendered afresh: still no statement per card
    statements = _statements_of(client, "/datasets/?sort=rating")
    assert not [s for s in statements if "dataset_ratings" in s]
    # the page's ids and versions; for the page kept whole, its versions again after its stamp was read
    # (so that the stamp is never newer than what the page shows); then its cards
    assert len([s for s in statements if "rating_mean" in s]) <= 3


def test_a_first_rating_sent_twice_at_once_is_kept_as_the_latest(app, monkeypatch):
    """Both requests see no rating yet; the second insert breaks the primary key (a 500 on PostgreSQL)."""
    dataset, rater = make_dataset(), make_user()
    ratings.rate(dataset, user_id=rater.id, stars=2, now=NOW)
    db.session.commit()
    monkeypatch.setattr(ratings, "_stored", lambda dataset_id, user_id: None)  # looked before the first
    ratings.rate(dataset, user_id=rater.id, stars=5, now=NOW)
    db.session.commit()
    assert (dataset.rating_count, dataset.rating_mean) == (1, 5.0)
    assert db.session.query(DatasetRating).count() == 1
