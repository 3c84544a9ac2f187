"""A catalogue page kept whole (catalogue/whole_pages.py) is kept as the bytes its response sends: encoding
a page of some 50 KB to UTF-8 cost about 65 us of CPU on every view it was served again (issue 20)."""

from __future__ import annotations

from catalogue_factories import make_dataset

from portal.catalogue import search_cache
from portal.extensions import db


def test_a_kept_catalogue_page_is_sent_as_the_bytes_kept(app):
    dataset = make_dataset("公交站点", index=True)
    db.session.commit()
    for place in ["/datasets/", "/datasets/?q=%E5%85%AC%E4%BA%A4"]:
        rendered, kept = (app.test_client().get(place) for _ in range(2))
        assert rendered.get_data() == kept.get_data()
        assert f"/datasets/{dataset.name}" in kept.get_data(as_text=True)
        for response in (rendered, kept):
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.headers["Content-Length"] == str(len(kept.get_data()))
    bodies = [entry[-1].body for entry in search_cache.listings._entries.values()]
    assert len(bodies) == 2 and all(type(body) is bytes for body in bodies)
