"""The catalogue datasets an application claims to use: finding them and checking a choice."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from portal.catalogue import rules, search
from portal.catalogue.models import Dataset
from portal.extensions import db
from portal.names import region_name

MAX_CLAIMS = 50


def find_datasets(q: str, *, limit: int = 20) -> list[Dataset]:
    """Return published datasets matching `q`, best first, for a team choosing what it uses.

    The catalogue's own search ranks them, so the picker finds what the catalogue page finds.
    """
    return search.search_datasets(search.SearchQuery(q=q, per_page=limit)).items


def claimable(ids: Iterable[int], *, already: Iterable[Dataset] = ()) -> tuple[list[Dataset], list[int]]:
    """Return the chosen datasets that may be claimed, and the ids that may not.

    A published dataset may be claimed; so may one the application already claims that was withdrawn
    since, so that editing a returned application does not force the team to drop it.
    """
    wanted = list(dict.fromkeys(int(i) for i in ids))[:MAX_CLAIMS]
    kept = {d.id: d for d in already}
    found = {
        d.id: d
        for d in db.session.scalars(select(Dataset).where(Dataset.id.in_(wanted), rules.published()))
    }
    chosen = [found.get(i) or kept.get(i) for i in wanted]
    return [d for d in chosen if d is not None], [i for i, d in zip(wanted, chosen, strict=True) if d is None]


def by_ids(ids: Iterable[int]) -> list[Dataset]:
    """Return the datasets with these ids, in the order given, whatever their state (to show a choice)."""
    wanted = list(dict.fromkeys(int(i) for i in ids))[:MAX_CLAIMS]
    found = {d.id: d for d in db.session.scalars(select(Dataset).where(Dataset.id.in_(wanted)))}
    return [found[i] for i in wanted if i in found]


def choice_json(dataset: Dataset, *, english: bool) -> dict:
    """A dataset as the picker lists it: title, then department and county to tell equal titles apart."""
    department = dataset.department
    return {
        "id": dataset.id,
        "name": dataset.name,
        "title": dataset.title,
        "department": department.title if department else "",
        "county": region_name(department.region.name, english=english) if department else "",
    }
