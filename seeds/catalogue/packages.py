"""One CKAN `package_show` result per planned dataset, shaped like CKAN 2.12's (see tests/ckan_samples)."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from datafiles import STRUCTURED, dictionary_rows, table_rows, write_table
from hostile import SECURITY_TAG, Hostile, inject_cells
from organizations import THEMES, Department
from topics import Topic

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://data.jiaxing.gov.cn/")
PORTAL = "https://data.jiaxing.gov.cn"
FEEDBACK = "如对数据有疑问，请通过平台“数据纠错”功能反馈"
END = dt.datetime(2026, 11, 20, 18, 0, 0)
THEME_BY_NAME = {theme.name: theme for theme in THEMES}
LICENCES = {
    "cc-by": ("Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by"),
    "other-open": ("其他（开放）", None),  # CKAN leaves license_url out when the licence has none
}
REMOTE = {  # format: (mimetype, smallest size, largest size); API documents have no size
    "PDF": ("application/pdf", 80_000, 3_500_000),
    "SHP": ("application/zip", 200_000, 8_000_000),
    "ZIP": ("application/zip", 150_000, 5_000_000),
    "API": (None, None, None),
}
REMOTE_TEXT = {
    "API": ("{title}数据接口", "RESTful 接口，返回 JSON；需在平台申请应用密钥后调用，接口文档见链接。"),
    "PDF": ("数据说明文档（PDF）", "数据采集口径、字段定义及使用说明。"),
    "SHP": (
        "{title}空间数据（SHP）",
        "矢量空间数据，坐标系 CGCS2000，压缩包内含 .shp、.shx、.dbf、.prj 文件。",
    ),
    "ZIP": ("历年数据打包下载（ZIP）", "历年数据文件的压缩包。"),
}


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    department: Department
    topic: Topic
    systems: tuple[str, ...]
    year: int | None = None
    hostile: Hostile | None = None


def uid(kind: str, key: str) -> str:
    """Return a stable UUID for an object of a kind, derived from its natural key."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def stamp(moment: dt.datetime) -> str:
    """Format a timestamp as CKAN does: ISO 8601, microseconds, no time zone."""
    return moment.isoformat(timespec="microseconds")


def organization(dept: Department) -> dict:
    created = dt.datetime(2020, 12, 1, 9) + dt.timedelta(
        seconds=random.Random(dept.slug).randrange(3 * 86400)
    )
    return {
        "id": uid("organization", dept.slug),
        "name": dept.slug,
        "title": dept.title,
        "type": "organization",
        "description": dept.description,
        "image_url": "",
        "created": stamp(created.replace(microsecond=123456)),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }


def group(name: str) -> dict:
    theme = THEME_BY_NAME[name]
    return {
        "description": theme.description,
        "display_name": theme.title,
        "id": uid("group", name),
        "image_display_url": "",
        "name": name,
        "title": theme.title,
    }


def tag(name: str) -> dict:
    return {
        "display_name": name,
        "id": uid("tag", name),
        "name": name,
        "state": "active",
        "vocabulary_id": None,
    }


def _timestamps(rng: random.Random, plan: Plan) -> tuple[dt.datetime, dt.datetime]:
    if plan.year:
        start = dt.datetime(min(plan.year + 1, 2026), 1, 8, 9)
        created = start + dt.timedelta(seconds=rng.randrange(80 * 86400))
    else:
        first, last = dt.datetime(2021, 1, 4, 9), dt.datetime(2026, 9, 30, 18)
        created = first + dt.timedelta(seconds=rng.randrange(int((last - first).total_seconds())))
    if plan.topic.frequency == "每日" or plan.year == 2026:
        modified = END - dt.timedelta(seconds=rng.randrange(14 * 86400))
    else:
        modified = created + (END - created) * rng.random() ** 1.5
    micro = rng.randrange(1, 1_000_000)
    return created.replace(microsecond=micro), max(modified, created).replace(
        microsecond=rng.randrange(1, 10**6)
    )


def _open_condition(rng: random.Random, plan: Plan) -> str | None:
    if plan.hostile:
        return "无条件开放"
    if plan.topic.condition:
        return plan.topic.condition
    draw = rng.random()
    return None if draw < 0.10 else "有条件开放" if draw < 0.30 else "无条件开放"


def _notes(rng: random.Random, plan: Plan, condition: str | None, system: str) -> str:
    if plan.hostile:
        return plan.hostile.notes
    dept, topic = plan.department, plan.topic
    region = dept.region_name
    fields = "、".join(topic.fields[:6]) or "全文"
    subject = f"{plan.year}年{topic.title}" if plan.year else topic.title
    lead = f"本数据集由{dept.title}提供，包含{region}范围内{subject}的{fields}等信息。"
    about = topic.about
    opening = condition or "无条件开放"
    style = rng.random()
    if style < 0.25:  # plain text, as most CKAN portals have
        return f"{lead}{about}数据{topic.frequency}更新，开放方式：{opening}。{FEEDBACK}。"
    if style < 0.5:
        return (
            f"{region}{subject}。{about}\n\n"
            f"1. 数据来源：{system}\n2. 更新频率：**{topic.frequency}**\n3. 开放方式：{opening}\n\n"
            f"使用本数据请注明来源“{dept.title}”，详见[嘉兴市公共数据开放平台使用协议]({PORTAL}/terms)。"
        )
    return (
        f"{lead}{about}\n\n**数据项**：{'、'.join(topic.fields) or '见附件'}。\n\n"
        f"- 提供单位：{dept.title}\n- 更新频率：{topic.frequency}\n"
        f"- 开放方式：{opening}\n- 覆盖范围：{region}\n\n"
        f"{FEEDBACK}，或访问[{dept.title}数据主页]({PORTAL}/organization/{dept.slug})。"
    )


def _tags(rng: random.Random, plan: Plan) -> list[dict]:
    names = list(plan.topic.tags)
    if rng.random() < 0.5:
        names.append(plan.department.region_name)
    if plan.year and rng.random() < 0.5:
        names.append(f"{plan.year}年")
    if plan.hostile:
        names.append(SECURITY_TAG)
    return [tag(n) for n in sorted(dict.fromkeys(names))[:6]]


def build(plan: Plan, root: Path, seed: str) -> dict:
    """Return the package dict of a plan, writing its data files under root/files/<name>/."""
    rng = random.Random(f"{seed}:{plan.name}")
    dept, topic = plan.department, plan.topic
    created, modified = _timestamps(rng, plan)
    condition = _open_condition(rng, plan)
    system = rng.choice(plan.systems)
    licence = "other-open" if rng.random() < 0.15 else "cc-by"
    package_id = uid("dataset", plan.name)
    extras = {
        "data_source": dept.title,
        "data_source_system": system,
        "open_condition": condition,
        "spatial_coverage": dept.region_name,
        "update_frequency": topic.frequency,
    }
    if plan.hostile:
        extras.update(plan.hostile.extras)
    themes = topic.themes
    office = rng.choice(
        ("办公室", "数据管理处", "科技信息处") if dept.county is None else ("办公室", "信息中心")
    )
    package = {
        "author": dept.title,
        "author_email": None,
        "creator_user_id": uid("user", "jiaxing-data-office"),
        "id": package_id,
        "isopen": True,
        "license_id": licence,
        "license_title": LICENCES[licence][0],
        "license_url": LICENCES[licence][1],
        "maintainer": plan.hostile.maintainer
        if plan.hostile and plan.hostile.maintainer
        else dept.title + office,
        "maintainer_email": f"{dept.slug.replace('-', '')}@jiaxing.gov.cn",
        "metadata_created": stamp(created),
        "metadata_modified": stamp(modified),
        "name": plan.name,
        "notes": _notes(rng, plan, condition, system),
        "num_resources": 0,
        "num_tags": 0,
        "organization": organization(dept),
        "owner_org": uid("organization", dept.slug),
        "private": False,
        "state": "active",
        "title": plan.title,
        "type": "dataset",
        "url": f"{PORTAL}/dataset/{plan.name}",
        "version": "1.0",
        "extras": [{"key": k, "value": v} for k, v in extras.items() if v is not None],
        "groups": [group(name) for name in sorted(themes)],
        "resources": _resources(rng, plan, root, package_id, created, modified),
        "tags": _tags(rng, plan),
        "relationships_as_subject": [],
        "relationships_as_object": [],
    }
    if package["license_url"] is None:
        del package["license_url"]
    package["num_resources"] = len(package["resources"])
    package["num_tags"] = len(package["tags"])
    return package


def _resources(rng, plan: Plan, root: Path, package_id: str, created, modified) -> list[dict]:
    topic = plan.topic
    year = plan.year or modified.year
    parts: list[tuple[str, str]] = []  # (role, format)
    if topic.columns:
        main = rng.choices(list(STRUCTURED), weights=(5, 3, 2))[0]
        parts.append(("main", main))
        more = rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
        roles = ["dictionary"] + ([] if plan.year or isinstance(topic.rows, str) else ["history"])
        for role in rng.sample(roles, min(more, len(roles))):
            parts.append((role, rng.choice(list(STRUCTURED))))
        pool = list(dict.fromkeys(topic.extra + ("API", "PDF"))) + (["ZIP"] if rng.random() < 0.3 else [])
        room = min(4 - len(parts), rng.choices((0, 1, 2), weights=(5, 4, 1))[0])
        remote = [f for f in pool if f in topic.extra][:room] or rng.sample(pool, room)
        parts += [("remote", f) for f in remote[:room]]
    else:
        parts += [("remote", f) for f in topic.extra]
    resources = []
    for position, (role, fmt) in enumerate(parts):
        resource = _resource(rng, plan, root, role, fmt, year, position, created, modified)
        resource["package_id"] = package_id
        resources.append(resource)
    if plan.hostile and plan.hostile.resource:
        extra = {
            **_resource(rng, plan, root, "remote", "API", year, len(resources), created, modified),
            **plan.hostile.resource,
            "package_id": package_id,
            "mimetype": None,
            "size": None,
        }
        resources.append(extra)
    return resources


def _remote_file(
    rng: random.Random, plan: Plan, fmt: str, position: int
) -> tuple[str, str, str, str | None, int | None]:
    """Return label, description, URL, mimetype and size of a resource that is not mirrored offline."""
    topic, name = plan.topic, plan.name
    mimetype, low, high = REMOTE[fmt]
    size = rng.randint(low, high) if low else None
    if fmt == "API":
        url = f"{PORTAL}/api/doc/{name}"
    else:
        url = f"{PORTAL}/dataset/{name}/resource/{name}-{position + 1}.{'pdf' if fmt == 'PDF' else 'zip'}"
    if fmt == "PDF" and not topic.columns:  # the document is the dataset, as with a statistical bulletin
        return f"{plan.title}（PDF）", topic.about, url, mimetype, size
    label, description = REMOTE_TEXT[fmt]
    return label.format(title=topic.title), description, url, mimetype, size


def _local_file(
    rng: random.Random, plan: Plan, root: Path, role: str, fmt: str, year: int, stamp_: dt.datetime
):
    """Write a table file and return label, description, relative URL, mimetype and size of its resource."""
    topic, title = plan.topic, plan.title
    ext, mimetype = STRUCTURED[fmt]
    rows = table_rows(topic, plan.department, rng, year - 1 if role == "history" else year)
    if plan.hostile and role == "main":
        inject_cells(rows, plan.hostile.cells)
    if role == "dictionary":
        rows, filename = dictionary_rows(topic, rows[0]), f"data-dictionary.{ext}"
        label, description = f"数据项说明（{fmt}）", "各字段的名称、类型、含义及示例值。"
    elif role == "history":
        filename = f"{topic.slug}-{year - 1}.{ext}"
        label = f"{title}（{year - 1}年存档，{fmt}）"
        description = f"{year - 1}年末的存档数据，字段与当前数据一致。"
    else:
        filename = f"{topic.slug}.{ext}"
        label = f"{title}（{fmt}）"
        description = f"{fmt}数据文件，共{len(rows)}条记录，字段：{'、'.join(topic.fields)}。"
    url = f"files/{plan.name}/{filename}"
    size = write_table(root / url, rows, fmt, stamp_, plan.department.title)
    return label, description, url, mimetype, size


def _resource(rng, plan: Plan, root: Path, role, fmt, year, position, created, modified) -> dict:
    last_modified = created + (modified - created) * rng.random()
    if role == "remote":
        label, description, url, mimetype, size = _remote_file(rng, plan, fmt, position)
    else:
        file_stamp = last_modified.replace(microsecond=0)
        label, description, url, mimetype, size = _local_file(rng, plan, root, role, fmt, year, file_stamp)
    return {
        "cache_last_updated": None,
        "cache_url": None,
        "created": stamp(created),
        "datastore_active": False,
        "description": description,
        "format": fmt,
        "hash": "",
        "id": uid("resource", f"{plan.name}/{position}"),
        "last_modified": stamp(last_modified),
        "metadata_modified": stamp(modified),
        "mimetype": mimetype,
        "mimetype_inner": None,
        "name": label,
        "package_id": None,
        "position": position,
        "resource_type": None,
        "size": size,
        "state": "active",
        "url": url,
        "url_type": None,
    }
