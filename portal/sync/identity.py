"""Who a name belongs to when CKAN hands it to a new id.

Records are matched by CKAN id, else by name. When a package arrives under a name that a
record of another CKAN id holds here, that old id is asked about once:

- gone from CKAN's public catalogue (purged: 404; deleted or private: 403, or a dict saying so):
  the newcomer takes the record over, with its history, download counts, reuses, claims and
  access grants (its CKAN id changes; the change is recorded on the run);
- public under another name (renamed): the record steps aside under a parking name and
  follows its id when the run reads it;
- public under the same name: a clash. Neither is published under the name, and the run
  reports it, until one of them is gone.

A run that reads the whole catalogue asks CKAN's search for every public id once (a page of
ids per 1,000 packages), at the first such name; an incremental run asks `package_show` about
the old id. Names that change hands are rare, so the common path costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.extensions import db
from portal.sync.models import SyncIdentityChange
from portal.sync.remote import PackageGone

GONE, ELSEWHERE, CLASH = "gone", "elsewhere", "clash"
CLASH_REASON = "name_clash"  # withdrawn_reason of a record whose name two live ids claim


class NameClash(Exception):
    """Two live CKAN ids claim one name; the package is not taken, and `holder` (the dataset row
    holding the name, when there is one) is to be withdrawn: neither is published under it."""

    def __init__(self, message: str, holder=None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class Fate:
    kind: str  # GONE | ELSEWHERE | CLASH
    package: dict | None = None  # the old id's package, when it was read and lives elsewhere


def is_public(pkg: object) -> bool:
    """Whether a package_show answer is in the public catalogue (active and not private)."""
    return isinstance(pkg, dict) and pkg.get("state", "active") == "active" and not pkg.get("private")


class Referee:
    """Decide what became of a CKAN id whose name another id now claims."""

    def __init__(self, source, *, whole: bool) -> None:
        self.source, self.whole = source, whole
        self._listed: dict[str, str] | None = None  # public id -> name, read once per whole run
        self.clashes: set[str] = set()  # names two live ids claim: nobody gets them this run
        self.later: dict[str, dict] = {}  # renamed packages to read if the run does not meet them

    def settle(self, writer, rec, old: dict | None, now: datetime) -> bool:
        """Make rec's name free for it; return True when rec took over the record holding it.

        Raise NameClash when another live id claims the name too."""
        if rec.name in self.clashes:
            raise NameClash(f"{rec.name!r}: its name is in a clash reported in this run")
        holder = writer.name_holder(rec)
        if holder is None:
            return False
        fate = self.fate(holder.ckan_id, rec.name)
        if fate.kind == CLASH:
            self.clashes.add(rec.name)
            raise NameClash(clash_message(rec.name, holder.ckan_id, rec.ckan_id), holder)
        if fate.kind == GONE and old is None:
            writer.relink(holder, rec)
            return True
        writer.park(holder, now, withdraw_as="deleted" if fate.kind == GONE else None)
        if fate.package is not None:
            self.later[holder.ckan_id] = fate.package
        return False

    def fate(self, old_id: str, name: str) -> Fate:
        if self.whole:  # this run reads every public package: one listing answers for all
            if self._listed is None:
                self._listed = self.source.package_ids()
            listed = self._listed.get(old_id)
            if listed is None:
                return Fate(GONE)
            if listed != name:
                return Fate(ELSEWHERE)  # the run reads it under its new name
        try:  # the search may lag behind CKAN's database: package_show decides
            pkg = self.source.show(old_id)
        except PackageGone:
            return Fate(GONE)
        if not is_public(pkg):
            return Fate(GONE)
        if pkg.get("name") == name:
            return Fate(CLASH)
        return Fate(ELSEWHERE, pkg)


def clash_message(name: str, held_by: str, claimed_by: str) -> str:
    return (
        f"CKAN ids {held_by} and {claimed_by} both claim the name {name!r}; neither is published "
        "under it until one of them is gone"
    )


def record(run_id: int, writer) -> int:
    """Add a row on the run for each record that took a new CKAN id (in the write's transaction);
    return how many."""
    for kind, record_id, name, old_id, new_id in writer.changes:
        db.session.add(
            SyncIdentityChange(
                run_id=run_id,
                kind=kind,
                record_id=record_id,
                name=name[:100],
                old_ckan_id=old_id[:100],
                new_ckan_id=new_id[:100],
            )
        )
    count = len(writer.changes)
    writer.changes.clear()
    return count
