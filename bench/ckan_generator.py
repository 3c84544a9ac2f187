"""Generate a large, realistic Chinese CKAN catalogue for the sync benchmarks.

    python bench/ckan_generator.py 100000 out.jsonl      # write a `ckanapi dump` JSON-lines file
    python bench/ckan_generator.py 100000 --serve         # serve it over the CKAN Action API

Packages come one at a time (a generator), in package_show shape, with increasing metadata_modified,
from 50 organizations of the city and its seven counties and the ten themes of DESIGN.md.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import random
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

STAMP = "%Y-%m-%dT%H:%M:%S.%f"
CREATED = "2023-06-01T08:00:00.000000"
PORTAL = "https://data.jiaxing.gov.cn"
CITY = ("嘉兴市", "330400", "jx")
COUNTIES = [
    ("南湖区", "330402", "nanhuqu"),
    ("秀洲区", "330411", "xiuzhouqu"),
    ("嘉善县", "330421", "jiashanxian"),
    ("海盐县", "330424", "haiyanxian"),
    ("海宁市", "330481", "hainingshi"),
    ("平湖市", "330482", "pinghushi"),
    ("桐乡市", "330483", "tongxiangshi"),
]
# Ten priority domains of the work plan: (title, name, description).
THEMES = [
    ("交通出行", "jiaotong-chuxing", "公共交通、道路运输、停车和出行服务类数据。"),
    ("医疗卫生", "yiliao-weisheng", "医疗机构、公共卫生、健康服务类数据。"),
    ("教育培训", "jiaoyu-peixun", "学校、培训机构、教育统计类数据。"),
    ("文化旅游", "wenhua-lvyou", "文化场馆、旅游景区、体育设施类数据。"),
    ("社区服务", "shequ-fuwu", "社区、养老、托育和便民服务类数据。"),
    ("社会信用", "shehui-xinyong", "行政许可、行政处罚和信用信息。"),
    ("普惠金融", "puhui-jinrong", "小微企业融资、金融服务网点类数据。"),
    ("营商环境", "yingshang-huanjing", "市场主体登记、政务服务和涉企政策类数据。"),
    ("生态环境", "shengtai-huanjing", "空气、水质、污染源和自然资源类数据。"),
    ("社会治理", "shehui-zhili", "治安、应急管理、网格化治理类数据。"),
]
# City departments: (title suffix, name suffix, theme index).
DEPARTMENTS = [
    ("交通运输局", "jtysj", 0),
    ("公安局交通警察支队", "gajj", 0),
    ("卫生健康委员会", "wjw", 1),
    ("医疗保障局", "ybj", 1),
    ("市场监督管理局", "scjgj", 7),
    ("教育局", "jyj", 2),
    ("人力资源和社会保障局", "rlsbj", 2),
    ("文化广电旅游局", "wglj", 3),
    ("体育局", "tyj", 3),
    ("民政局", "mzj", 4),
    ("住房和城乡建设局", "zjj", 4),
    ("发展和改革委员会", "fgw", 5),
    ("司法局", "sfj", 5),
    ("税务局", "swj", 5),
    ("地方金融监督管理局", "jrb", 6),
    ("人民银行嘉兴市分行", "rmyh", 6),
    ("商务局", "swuj", 7),
    ("行政审批局", "xzspj", 7),
    ("经济和信息化局", "jxj", 7),
    ("生态环境局", "sthjj", 8),
    ("自然资源和规划局", "zrzyj", 8),
    ("水利局", "slj", 8),
    ("农业农村局", "nyncj", 8),
    ("应急管理局", "yjglj", 9),
    ("公安局", "gaj", 9),
    ("城市管理局", "cgj", 9),
    ("统计局", "tjj", 7),
    ("大数据发展管理局", "sjj", 9),
    ("消防救援支队", "xfzd", 9),
]
COUNTY_DEPARTMENTS = [("教育局", "jyj", 2), ("卫生健康局", "wjj", 1)]
# Subjects per theme: (title, name, fields).
SUBJECTS = [
    [
        ("公交站点", "bus-stops", "站点名称、线路、经度、纬度"),
        ("公共停车场", "parking", "停车场名称、地址、泊位数、收费标准"),
        ("公共自行车站点", "bike-stations", "站点名称、地址、车桩数"),
        ("道路运输企业", "transport-firms", "企业名称、经营范围、许可证号"),
    ],
    [
        ("医疗机构名录", "hospitals", "机构名称、等级、地址、联系电话"),
        ("药店分布", "pharmacies", "药店名称、地址、医保定点"),
        ("疫苗接种点", "vaccination-sites", "接种点名称、地址、服务时间"),
        ("家庭医生签约", "family-doctors", "社区、签约人数、签约率"),
    ],
    [
        ("中小学名录", "schools", "学校名称、学段、地址、联系电话"),
        ("义务教育学区划分", "school-districts", "学校名称、学区范围、年份"),
        ("培训机构名录", "training-centres", "机构名称、办学许可证、地址"),
        ("幼儿园名录", "kindergartens", "园所名称、性质、地址"),
    ],
    [
        ("文化场馆", "cultural-halls", "场馆名称、地址、开放时间"),
        ("旅游景区", "scenic-spots", "景区名称、等级、地址、门票"),
        ("民宿农家乐名录", "homestays", "名称、地址、床位数、联系电话"),
        ("体育场地设施", "sports-venues", "场地名称、类型、地址"),
    ],
    [
        ("养老机构", "elderly-care", "机构名称、床位数、地址"),
        ("托育机构", "childcare", "机构名称、托位数、地址"),
        ("社区服务中心", "community-centres", "名称、地址、服务项目"),
        ("公共厕所分布", "public-toilets", "公厕名称、类别、开放时间、地址、经度、纬度"),
    ],
    [
        ("行政许可信息", "licences", "许可决定书文号、行政相对人名称、许可内容、许可日期"),
        ("行政处罚信息", "penalties", "处罚决定书文号、行政相对人名称、处罚类别、处罚日期"),
        ("守信激励名单", "credit-redlist", "主体名称、统一社会信用代码、列入日期"),
    ],
    [
        ("小微企业融资服务", "sme-finance", "产品名称、机构、利率区间"),
        ("金融服务网点", "bank-branches", "网点名称、地址、营业时间"),
        ("政府性融资担保", "guarantees", "担保机构、在保余额、年份"),
    ],
    [
        ("市场主体登记", "business-registry", "企业名称、统一社会信用代码、成立日期、注册资本"),
        ("政务服务事项", "service-items", "事项名称、办理部门、承诺时限"),
        ("涉企政策清单", "business-policies", "政策名称、发布部门、发布日期"),
        ("财政预算公开", "budget", "科目、预算数、年份"),
    ],
    [
        ("空气质量监测", "air-quality", "监测点、AQI、PM2.5、监测时间"),
        ("地表水水质", "water-quality", "断面名称、水质类别、监测时间"),
        ("重点排污单位", "polluters", "单位名称、行业、排放口数量"),
        ("河长制河道名录", "rivers", "河道名称、长度、河长"),
    ],
    [
        ("应急避难场所", "shelters", "场所名称、地址、容纳人数"),
        ("消防站点", "fire-stations", "站点名称、地址、联系电话"),
        ("网格化治理事件", "grid-events", "事件类型、所属网格、处置状态、上报时间"),
        ("治安卡口分布", "checkpoints", "卡口名称、经度、纬度"),
    ],
]
FORMATS = {
    "CSV": "text/csv",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "JSON": "application/json",
    "API": None,
}
LICENSES = [
    ("cc-by", "Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by"),
    ("odc-by", "Open Data Commons Attribution License", "http://www.opendefinition.org/licenses/odc-by"),
    ("other-open", "Other (Open)", None),
]
FREQUENCIES = ["每日", "每月", "每季度", "每年", "不定期"]
QUALIFIERS = ["", "信息", "名录", "统计", "分布"]


@functools.cache
def _tag_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def organizations() -> list[dict]:
    """Return the 50 organizations (29 city departments, 7 county governments, 14 county departments)."""
    rng = random.Random("organizations")
    orgs = []
    for title, name, theme in DEPARTMENTS:
        orgs.append(
            _org(
                rng,
                f"嘉兴市{title}",
                f"jx-{name}",
                "市级部门",
                CITY,
                theme,
                f"负责全市{THEMES[theme][0]}相关工作。",
            )
        )
    for county in COUNTIES:
        description = f"{county[0]}（行政区划代码 {county[1]}）各部门公共数据由本单位统一归集发布。"
        orgs.append(_org(rng, f"{county[0]}人民政府", county[2], "区县", county, None, description))
        for title, name, theme in COUNTY_DEPARTMENTS:
            orgs.append(
                _org(
                    rng,
                    f"{county[0]}{title}",
                    f"{county[2]}-{name}",
                    "区县部门",
                    county,
                    theme,
                    f"负责{county[0]}{THEMES[theme][0]}相关工作。",
                )
            )
    return orgs


def _org(
    rng: random.Random, title: str, name: str, kind: str, region: tuple, theme: int | None, description: str
) -> dict:
    return {
        "approval_status": "approved",
        "created": CREATED,
        "description": description,
        "display_name": title,
        "id": _uuid(rng),
        "image_display_url": "",
        "image_url": "",
        "is_organization": True,
        "name": name,
        "num_followers": 0,
        "package_count": 0,
        "state": "active",
        "title": title,
        "type": "organization",
        "extras": [{"key": "org_type", "value": kind}, {"key": "region_code", "value": region[1]}],
        "_region": region,
        "_theme": theme,
    }


def groups() -> list[dict]:
    """Return the ten theme groups."""
    rng = random.Random("groups")
    return [
        {
            "approval_status": "approved",
            "created": CREATED,
            "description": description,
            "display_name": title,
            "id": _uuid(rng),
            "image_display_url": "",
            "image_url": "",
            "is_organization": False,
            "name": name,
            "num_followers": 0,
            "package_count": 0,
            "state": "active",
            "title": title,
            "type": "group",
        }
        for title, name, description in THEMES
    ]


def datastore_table(resource: dict) -> tuple[list[dict], int]:
    """Return the DataStore fields (without `_id`) and row count of a generated resource."""
    names = resource["description"].split("字段：", 1)[1].rstrip("。").split("、")
    fields = [
        {"id": n, "type": "numeric" if n in ("经度", "纬度", "泊位数", "床位数") else "text"} for n in names
    ]
    return fields, zlib.crc32(resource["id"].encode()) % 20_000 + 10


def generate_packages(n: int, *, seed: int = 0, start: datetime = datetime(2024, 1, 1)) -> Iterator[dict]:
    """Yield `n` packages in package_show shape, metadata_modified strictly increasing from `start`."""
    rng = random.Random(seed)
    orgs, themes = organizations(), groups()
    embedded = [
        {
            k: o[k]
            for k in (
                "id",
                "name",
                "title",
                "type",
                "description",
                "image_url",
                "created",
                "is_organization",
                "approval_status",
                "state",
            )
        }
        for o in orgs
    ]
    moment = start
    for index in range(n):
        moment += timedelta(seconds=rng.randint(1, 900), microseconds=rng.randint(1, 999_999))
        which = rng.randrange(len(orgs))
        yield _package(rng, index, moment, orgs[which], embedded[which], themes)


def _package(
    rng: random.Random, index: int, moment: datetime, org: dict, embedded: dict, themes: list
) -> dict:
    region, region_code, _ = org["_region"]
    theme = org["_theme"] if org["_theme"] is not None and rng.random() < 0.8 else rng.randrange(len(THEMES))
    subject, slug, fields = rng.choice(SUBJECTS[theme])
    year = rng.randint(2018, 2025)
    title = rng.choice(
        [
            f"{region}{year}年{subject}",
            f"{region}{subject}{rng.choice(QUALIFIERS)}",
            f"{org['title']}{subject}",
        ]
    )
    name = f"{org['name']}-{slug}-{index:06d}"
    pkg_id = _uuid(rng)
    stamp = moment.strftime(STAMP)
    created = (moment - timedelta(days=rng.randint(0, 700), seconds=rng.randint(0, 86_399))).strftime(STAMP)
    frequency, condition = rng.choice(FREQUENCIES), "有条件开放" if rng.random() < 0.2 else "无条件开放"
    licence = rng.choice(LICENSES)
    theme_ids = {theme} | ({rng.randrange(len(THEMES))} if rng.random() < 0.3 else set())
    formats = rng.sample(list(FORMATS), rng.randint(1, 3))
    resources = []
    for position, fmt in enumerate(formats):
        resource_id = _uuid(rng)
        resources.append(
            {
                "cache_last_updated": None,
                "cache_url": None,
                "created": created,
                "datastore_active": fmt == "CSV" and rng.random() < 0.6,
                "description": f"{fmt}数据文件，字段：{fields}。",
                "format": fmt,
                "hash": "",
                "id": resource_id,
                "last_modified": stamp,
                "metadata_modified": stamp,
                "mimetype": FORMATS[fmt],
                "mimetype_inner": None,
                "name": f"{title}（{fmt}）",
                "package_id": pkg_id,
                "position": position,
                "resource_type": None,
                "size": rng.randint(4, 8_000) * 1024,
                "state": "active",
                "url": f"{PORTAL}/dataset/{name}/resource/{name}-{position + 1}.{fmt.lower()}",
                "url_type": None,
            }
        )
    tags = [region, subject, f"{year}年"][: rng.randint(2, 3)]
    pkg = {
        "author": org["title"],
        "author_email": None,
        "creator_user_id": "e4290263-ecd9-4b76-9e3c-d642ae40d62e",
        "id": pkg_id,
        "isopen": True,
        "license_id": licence[0],
        "license_title": licence[1],
    }
    if licence[2]:
        pkg["license_url"] = licence[2]
    pkg.update(
        {
            "maintainer": f"{org['title']}数据管理处",
            "maintainer_email": f"{org['name']}@jiaxing.gov.cn",
            "metadata_created": created,
            "metadata_modified": stamp,
            "name": name,
            "notes": (
                f"本数据集由{org['title']}提供，包含{region}范围内{subject}的{fields}等信息。"
                f"数据{frequency}更新，开放方式：{condition}。"
            ),
            "num_resources": len(resources),
            "num_tags": len(tags),
            "organization": dict(embedded),
            "owner_org": org["id"],
            "private": False,
            "state": "active",
            "title": title,
            "type": "dataset",
            "url": f"{PORTAL}/dataset/{name}",
            "version": "1.0",
            "extras": [
                {"key": "data_source", "value": org["title"]},
                {"key": "region_code", "value": region_code},
                {"key": "open_condition", "value": condition},
                {"key": "spatial_coverage", "value": region},
                {"key": "update_frequency", "value": frequency},
            ],
            "groups": [
                {
                    k: themes[t][k]
                    for k in ("description", "display_name", "id", "image_display_url", "name", "title")
                }
                for t in sorted(theme_ids)
            ],
            "resources": resources,
            "tags": [
                {
                    "display_name": t,
                    "id": _tag_id(t),
                    "name": t,
                    "state": "active",
                    "vocabulary_id": None,
                }
                for t in tags
            ],
            "relationships_as_subject": [],
            "relationships_as_object": [],
        }
    )
    return pkg


def write_dump(packages: Iterator[dict], path: Path) -> int:
    """Write packages as `ckanapi dump` does (compact UTF-8 JSON, sorted keys, one a line)."""
    count = 0
    with open(path, "wb") as out:
        for pkg in packages:
            out.write(
                json.dumps(pkg, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() + b"\n"
            )
            count += 1
    return count


def load_fake(n: int, *, seed: int = 0):
    """Return a tests/ckanserver FakeCkan holding `n` generated packages and their DataStore tables."""
    fake = _ckanserver().FakeCkan()
    for org in organizations():
        fake.add_organization({k: v for k, v in org.items() if not k.startswith("_")})
    for group in groups():
        fake.add_group(group)

    def with_tables(packages: Iterator[dict]) -> Iterator[dict]:
        for pkg in packages:
            for resource in pkg["resources"]:
                if resource["datastore_active"]:
                    fake.set_datastore(resource["id"], *datastore_table(resource))
            yield pkg

    fake.add_packages(with_tables(generate_packages(n, seed=seed)))
    gc.freeze()  # keep the collector from rescanning the catalogue during timed requests
    return fake


def _ckanserver():
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import ckanserver

    return ckanserver


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="how many packages")
    parser.add_argument("out", nargs="?", type=Path, help="JSON-lines dump file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help="serve the packages over HTTP until interrupted")
    args = parser.parse_args(argv)
    if not args.out and not args.serve:
        parser.error("give an output file, --serve, or both")
    if args.out:
        began = time.perf_counter()
        written = write_dump(generate_packages(args.count, seed=args.seed), args.out)
        print(f"wrote {written} packages to {args.out} in {time.perf_counter() - began:.1f} s", flush=True)
    if args.serve:
        began = time.perf_counter()
        fake = load_fake(args.count, seed=args.seed)
        print(f"loaded {args.count} packages in {time.perf_counter() - began:.1f} s", flush=True)
        with _ckanserver().serve(fake) as url:
            print(url, flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main()
