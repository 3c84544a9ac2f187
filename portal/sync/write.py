"""Write one parsed package into the catalogue tables.

`Writer` keeps per-run caches of departments, themes, tags and licences so that a
package costs a handful of queries. It adds and flushes; the run commits per package.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.catalogue.models import (
    PUBLISHED,
    WITHDRAWN,
    Dataset,
    Department,
    Licence,
    Resource,
    Tag,
    Theme,
)
from portal.extensions import db
from portal.regions.models import Region
from portal.sync.mapping import OrganizationRecord, PackageRecord, parse_organization, resolve_region

CREATED, UPDATED, UNCHANGED, RESTORED = "created", "updated", "unchanged", "restored"


class Writer:
    def __init__(self, *, organizations: dict[str, dict], seed_codes: dict[str, str]) -> None:
        regions = list(db.session.scalars(select(Region)))
        self.region_ids = {r.code: r.id for r in regions}
        self.city_code = next((r.code for r in regions if r.is_city), None)
        self.county_names = {r.name: r.code for r in regions if not r.is_city}
        self.organizations = organizations  # CKAN's organization_list, with extras, by name
        self.seed_codes = seed_codes
        self.forget()

    def forget(self) -> None:
        """Drop the caches (after a rollback they may name rows that no longer exist)."""
        self.departments: dict[str, int] = {}
        self.themes: dict[str, Theme] = {}
        self.tags: dict[str, Tag] = {}
        self.licences: set[str] = set()

    def write(self, rec: PackageRecord, now: datetime) -> tuple[str, Dataset]:
        """Create or update the dataset of `rec`; return what happened and the dataset."""
        with db.session.no_autoflush:
            return self._write(rec, now)

    def _write(self, rec: PackageRecord, now: datetime) -> tuple[str, Dataset]:
        dataset = db.session.scalar(select(Dataset).where(Dataset.ckan_id == rec.ckan_id))
        if (
            dataset is not None
            and dataset.state == PUBLISHED
            and dataset.metadata_modified == rec.metadata_modified
        ):
            return UNCHANGED, dataset
        self._free_name(rec, now)
        if dataset is None:
            outcome = CREATED
            dataset = Dataset(ckan_id=rec.ckan_id, first_synced_at=now)
        else:
            outcome = RESTORED if dataset.state == WITHDRAWN else UPDATED
        dataset.name = rec.name
        dataset.title = rec.title[:500]
        dataset.notes = rec.notes
        dataset.metadata_created = rec.metadata_created
        dataset.metadata_modified = rec.metadata_modified
        dataset.open_condition = rec.open_condition
        dataset.author, dataset.maintainer, dataset.source_url = rec.author, rec.maintainer, rec.source_url
        dataset.extras = rec.extras
        dataset.department_id = self._department(rec.organization)
        dataset.licence_id = self._licence(rec)
        dataset.themes = [self._theme(g) for g in rec.groups]
        dataset.tags = [self._tag(name) for name in rec.tags]
        dataset.state, dataset.withdrawn_reason, dataset.withdrawn_at = PUBLISHED, None, None
        dataset.last_synced_at = now
        self._resources(dataset, rec)
        db.session.add(dataset)
        db.session.flush()
        return outcome, dataset

    def _free_name(self, rec: PackageRecord, now: datetime) -> None:
        """CKAN names are unique: a row here with this name but another id left CKAN."""
        other = db.session.scalar(
            select(Dataset).where(Dataset.name == rec.name, Dataset.ckan_id != rec.ckan_id)
        )
        if other is not None:
            other.name = f"{other.name[:80]}~{other.ckan_id[:12]}"
            if other.state == PUBLISHED:
                other.state, other.withdrawn_reason, other.withdrawn_at = WITHDRAWN, "deleted", now
            db.session.flush()

    def _department(self, org: OrganizationRecord | None) -> int | None:
        if org is None:
            return None
        if org.ckan_id in self.departments:
            return self.departments[org.ckan_id]
        listed = self.organizations.get(org.name)
        if listed:  # organization_list carries the extras that package dicts lack
            org = parse_organization({**listed, "id": org.ckan_id})
        code, how = resolve_region(
            org,
            codes=set(self.region_ids),
            seed_codes=self.seed_codes,
            county_names=self.county_names,
            city_code=self.city_code,
        )
        department = db.session.scalar(select(Department).where(Department.ckan_id == org.ckan_id))
        if department is None:
            department = Department(ckan_id=org.ckan_id)
            db.session.add(department)
        department.name, department.title = org.name[:100], org.title[:200]
        department.description = org.description
        department.region_id, department.region_source = self.region_ids[code], how
        db.session.flush()
        self.departments[org.ckan_id] = department.id
        return department.id

    def _licence(self, rec: PackageRecord) -> str | None:
        if not rec.licence_id:
            return None
        if rec.licence_id not in self.licences:
            licence = db.session.get(Licence, rec.licence_id)
            if licence is None:
                licence = Licence(id=rec.licence_id, title=rec.licence_title or rec.licence_id)
                db.session.add(licence)
            if rec.licence_title:
                licence.title, licence.url = rec.licence_title[:200], rec.licence_url[:500]
            self.licences.add(rec.licence_id)
        return rec.licence_id

    def _theme(self, group) -> Theme:
        theme = self.themes.get(group.name)
        if theme is None:
            theme = db.session.scalar(select(Theme).where(Theme.name == group.name))
            if theme is None:
                theme = Theme(ckan_id=group.ckan_id, name=group.name[:100], title=group.title[:200])
                db.session.add(theme)
            else:
                theme.title = group.title[:200]
            self.themes[group.name] = theme
        return theme

    def _tag(self, name: str) -> Tag:
        tag = self.tags.get(name)
        if tag is None:
            tag = db.session.scalar(select(Tag).where(Tag.name == name))
            if tag is None:
                tag = Tag(name=name)
                db.session.add(tag)
            self.tags[name] = tag
        return tag

    def _resources(self, dataset: Dataset, rec: PackageRecord) -> None:
        existing = {r.ckan_id: r for r in dataset.resources}
        wanted = {r.ckan_id for r in rec.resources}
        for record in rec.resources:
            resource = existing.get(record.ckan_id)
            if resource is None:
                resource = db.session.scalar(select(Resource).where(Resource.ckan_id == record.ckan_id))
                if resource is None:
                    resource = Resource(ckan_id=record.ckan_id)
                dataset.resources.append(resource)
            changed = (resource.ckan_last_modified, resource.size, resource.url) != (
                record.last_modified,
                record.size,
                record.url,
            )
            if changed:  # the mirrored copy and its volume no longer describe this file
                resource.mirrored_at = resource.volume_computed_at = None
            resource.name, resource.description = record.name, record.description
            resource.format, resource.mimetype, resource.url = record.format, record.mimetype, record.url
            resource.size, resource.position = record.size, record.position
            resource.ckan_last_modified = record.last_modified
            resource.datastore_active = record.datastore_active
            resource.state = "active"
        for ckan_id, resource in existing.items():
            if ckan_id not in wanted:
                resource.state = "removed"


def withdraw(dataset: Dataset, reason: str, now: datetime) -> None:
    """Take a dataset out of the public catalogue, keeping it and its history."""
    dataset.state, dataset.withdrawn_reason, dataset.withdrawn_at = WITHDRAWN, reason, now
