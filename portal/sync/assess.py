"""What the portal learns about a resource: its mirrored copy, its volume, and whether it is valid.

Works on a resource's column values (a dict), before anything is written, so that the
slow part (downloads, DataStore calls) happens outside the dataset's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from portal.catalogue.models import DUPLICATE
from portal.dbtypes import utcnow
from portal.sync import mirror, volume


@dataclass
class Assessor:
    source: object  # CkanSource or DumpSource
    store: object | None  # the portal's storage, when mirroring
    fetcher: mirror.Fetcher
    full: bool
    mirror: bool
    max_size: int
    shapes: dict = field(default_factory=dict)  # DataStore shapes fetched ahead, by resource id
    mirrored: dict = field(default_factory=dict)  # copies made ahead: resource id -> problem or exception

    def mirror_ahead(self, dataset_ckan_id: str, resources: list[dict]) -> None:
        """Copy the files of a dataset's resources that need it, a few at a time (the fetcher bounds
        how many, overall and per host); `assess` then uses what each copy gave."""
        self.mirrored = {}
        wanted = [values for values in resources if self._wants_copy(values)]
        if len(wanted) < 2:
            return  # nothing to overlap: assess copies it itself

        def work(values: dict) -> str | None:
            return self._mirror(dataset_ckan_id, values, self.source.local_file(values["url"]))

        for values, result in zip(wanted, self.fetcher.copy_many(wanted, work), strict=True):
            self.mirrored[values["ckan_id"]] = result

    def _wants_copy(self, values: dict) -> bool:
        return (
            self.mirror
            and self.store is not None
            and values["format"] in volume.MIRRORED
            and values["mirrored_at"] is None
        )

    def assess(self, dataset_ckan_id: str, values: dict) -> str | None:
        """Mirror the file when needed, then measure it: DataStore first, else the file.

        Updates `values` in place; returns a problem worth recording, or None.
        """
        problem = None
        local = self.source.local_file(values["url"])
        if values["ckan_id"] in self.mirrored:
            problem = self.mirrored.pop(values["ckan_id"])
            if isinstance(problem, Exception):
                raise problem
            values["volume_computed_at"] = None  # count the new copy
        elif self._wants_copy(values):
            problem = self._mirror(dataset_ckan_id, values, local)
            values["volume_computed_at"] = None  # count the new copy
        if values["datastore_active"] and (self.full or values["volume_computed_at"] is None):
            rid = values["ckan_id"]
            shape = self.shapes.pop(rid) if rid in self.shapes else self.source.datastore_shape(rid)
            if shape is not None:
                values["records"], values["fields"] = shape
                values["volume_source"], values["volume_computed_at"] = "datastore", utcnow()
                values["invalid_reason"] = None
                judge(values)
                return problem
        if values["volume_computed_at"] is None:
            self._count(values, local)
            judge(values)
        return problem

    def _mirror(self, dataset_ckan_id: str, values: dict, local: Path | None) -> str | None:
        key = mirror.storage_key(dataset_ckan_id, values["ckan_id"], values["url"], values["format"])
        try:
            stored = mirror.copy(
                self.fetcher,
                self.store,
                key=key,
                url=values["url"],
                local=local,
                fmt=values["format"],
                mimetype=values["mimetype"],
                max_size=self.max_size,
            )
        except mirror.MirrorFailed as exc:
            values["mirror_error"] = str(exc)[:500]  # mirrored_at stays empty: a --full run tries again
            return str(exc)
        values.update(
            storage_key=stored.key,
            mirrored_size=stored.size,
            sha256=stored.sha256,
            content_type=stored.content_type,
            mirrored_at=utcnow(),
            mirror_error=None,
        )
        return None

    def _count(self, values: dict, local: Path | None) -> None:
        values.update(
            records=None, fields=None, volume_source=None, invalid_reason=None, volume_computed_at=utcnow()
        )
        if values["format"] not in volume.COUNTABLE:
            return
        if values["storage_key"] and values["mirrored_at"] is not None and self.store is not None:
            opened = self.store.open(values["storage_key"])
        elif local is not None:
            opened = local.open("rb")
        else:
            return  # unmeasured: neither a copy nor a local file to count
        with opened as stream:
            try:
                values["records"], values["fields"] = volume.measure(stream, values["format"])
                values["volume_source"] = "file"
            except volume.Unmeasurable:
                values["invalid_reason"] = "not_machine_readable"


def judge(values: dict) -> None:
    """Decide whether the resource counts as valid open data, and why not."""
    url = values["url"].lower()
    if values["volume_source"] == "datastore":  # downloadable from the DataStore whatever its URL
        reason = None if values["records"] else "empty"
    elif not url or url.startswith(("javascript:", "data:", "vbscript:")):
        reason = "not_downloadable"
    elif values["mirror_error"] and values["mirror_error"].startswith(mirror.NOT_DOWNLOADABLE):
        reason = "not_downloadable"
    elif (
        values["format"] not in volume.MACHINE_READABLE or values["invalid_reason"] == "not_machine_readable"
    ):
        reason = "not_machine_readable"
    elif values["records"] == 0:
        reason = "empty"
    else:
        reason = None
    values["is_valid"], values["invalid_reason"] = reason is None, reason


def mark_duplicates(resources: list[dict]) -> None:
    """A file whose content another resource of the dataset already has is a duplicate."""
    seen: set[str] = set()
    for values in sorted(resources, key=lambda v: v["position"]):
        if values["sha256"]:
            if values["sha256"] in seen and values["is_valid"]:
                values["is_valid"], values["invalid_reason"] = False, DUPLICATE
            seen.add(values["sha256"])
