"""The sources an admin may sync from the web: the configured CKAN, the dump files offered, or a typed URL.

A server path typed on the web is accepted only when it names one of the offered dump files, so a web form
never makes the server read (and publish files beside) an arbitrary file it can reach. A typed URL is checked
by the outbound guard before any connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OTHER = "other"  # the select's value for "a URL I type"
DEMO_DUMP = "demo-catalogue.jsonl"


class NotOffered(Exception):
    """A typed server path that is not one of the offered dump files."""


class Missing(Exception):
    """ "Other URL" chosen with no URL typed."""


@dataclass(frozen=True)
class Choice:
    location: str  # what the sync opens and records: a URL or an absolute dump path
    kind: str  # "ckan" or "dump"
    name: str  # the URL, or the dump's path inside the offered folder

    @property
    def is_demo(self) -> bool:
        return self.kind == "dump" and Path(self.name).name == DEMO_DUMP


def offered(ckan_url: str | None, dump_folder: str | Path) -> list[Choice]:
    """List the configured CKAN (when set), then every `*.jsonl` dump under `dump_folder`, by name."""
    choices = [Choice(ckan_url, "ckan", ckan_url)] if ckan_url else []
    folder = Path(dump_folder).resolve()
    if folder.is_dir():
        dumps = sorted(p for p in folder.rglob("*.jsonl") if p.is_file())
        choices += [Choice(str(p), "dump", p.relative_to(folder).as_posix()) for p in dumps]
    return choices


def choose(choice: str, typed: str, choices: list[Choice]) -> str:
    """Return the location the form names: an offered choice, or the typed URL when `choice` is OTHER.

    An empty choice means the configured CKAN (the caller falls back to it). A typed server path, or a
    choice that is not offered, must resolve to an offered dump file; else NotOffered.
    """
    choice, typed = choice.strip(), typed.strip()
    location = typed if choice == OTHER else choice
    if choice == OTHER and not typed:
        raise Missing(choice)
    if not location or location.startswith(("http://", "https://")):
        return location  # the outbound guard checks a URL before the sync connects
    if any(c.location == location for c in choices):
        return location
    dumps = {Path(c.location) for c in choices if c.kind == "dump"}
    try:
        resolved = Path(location).resolve()
    except (OSError, ValueError) as exc:
        raise NotOffered(location) from exc
    if resolved in dumps:
        return str(resolved)
    raise NotOffered(location)


def selected(location: str, choices: list[Choice]) -> tuple[str, str]:
    """The select's value and the typed URL that show `location` again (a remembered source)."""
    if not location or any(c.location == location for c in choices):
        return location, ""
    return OTHER, location
