"""The departments (CKAN organizations) and themes (CKAN groups) of the demo catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from places import CITY_CODE, CITY_NAME, COUNTY_BY_PREFIX, County


@dataclass(frozen=True)
class Theme:
    name: str
    title: str
    title_en: str
    description: str


THEMES = (
    Theme("jtcx", "交通出行", "Transport", "公共交通、道路运输、停车和出行服务类数据。"),
    Theme("ylws", "医疗卫生", "Health care", "医疗机构、公共卫生、医疗保障类数据。"),
    Theme("jypx", "教育培训", "Education and training", "各级各类学校、职业技能培训和终身教育类数据。"),
    Theme("whly", "文化旅游", "Culture and tourism", "旅游景区、公共文化设施、文物和非遗类数据。"),
    Theme("sqfw", "社区服务", "Community services", "养老、助餐、便民服务和社区设施类数据。"),
    Theme("shxy", "社会信用", "Social credit", "行政许可、行政处罚和信用评价类数据。"),
    Theme("phjr", "普惠金融", "Inclusive finance", "金融服务网点、普惠贷款、社会保障与民生收支类数据。"),
    Theme("yshj", "营商环境", "Business environment", "市场主体、投资项目、政务服务和经济运行类数据。"),
    Theme("sthj", "生态环境", "Ecology and environment", "空气、水、声环境监测和污染源监管类数据。"),
    Theme("shzl", "社会治理", "Social governance", "公共安全、应急管理、法律服务和基层治理类数据。"),
)

# kind: (city slug, city title, county slug, county title suffix, description with {scope})
KINDS = {
    "jt": (
        "jtysj",
        "嘉兴市交通运输局",
        "jtysj",
        "交通运输局",
        "负责{scope}公路、水路交通运输及城市公共交通行业管理。",
    ),
    "ws": (
        "wjw",
        "嘉兴市卫生健康委员会",
        "wjj",
        "卫生健康局",
        "负责{scope}医疗卫生、疾病预防控制和健康促进工作。",
    ),
    "jy": ("jyj", "嘉兴市教育局", "jyj", "教育局", "负责{scope}各级各类教育的统筹规划和管理。"),
    "wl": (
        "wglyj",
        "嘉兴市文化广电旅游局",
        "wgltj",
        "文化和广电旅游体育局",
        "负责{scope}文化事业、广播电视和旅游业的发展与管理。",
    ),
    "mz": ("mzj", "嘉兴市民政局", "mzj", "民政局", "负责{scope}社会救助、养老服务、社区治理和社会组织管理。"),
    "fg": (
        "fgw",
        "嘉兴市发展和改革委员会",
        "fgj",
        "发展和改革局",
        "负责{scope}国民经济和社会发展规划、投资管理和社会信用体系建设。",
    ),
    "sc": (
        "scjgj",
        "嘉兴市市场监督管理局",
        "scjgj",
        "市场监督管理局",
        "负责{scope}市场主体登记、食品药品安全和市场秩序监管。",
    ),
    "st": ("sthjj", "嘉兴市生态环境局", "", "", "负责{scope}生态环境保护、污染防治和环境监测。"),
    "ga": ("gaj", "嘉兴市公安局", "", "", "负责{scope}社会治安、道路交通安全和户政管理。"),
    "rs": (
        "rlsbj",
        "嘉兴市人力资源和社会保障局",
        "rlsbj",
        "人力资源和社会保障局",
        "负责{scope}就业创业、社会保险和劳动关系管理。",
    ),
    "zr": (
        "zrzyghj",
        "嘉兴市自然资源和规划局",
        "",
        "",
        "负责{scope}自然资源管理、国土空间规划和不动产登记。",
    ),
    "zj": (
        "zjj",
        "嘉兴市住房和城乡建设局",
        "zjj",
        "住房和城乡建设局",
        "负责{scope}住房保障、建筑市场和城乡建设管理。",
    ),
    "tj": ("tjj", "嘉兴市统计局", "", "", "负责{scope}统计调查、统计分析和统计信息发布。"),
    "dsj": ("dsjj", "嘉兴市大数据发展管理局", "", "", "负责{scope}公共数据归集、共享开放和数字政府建设。"),
    "jr": ("jrjgj", "嘉兴市地方金融监督管理局", "", "", "负责{scope}地方金融组织监管和普惠金融服务推进。"),
    "yb": ("ybj", "嘉兴市医疗保障局", "", "", "负责{scope}医疗保障制度实施、医保基金监管和医药服务管理。"),
    "sf": ("sfj", "嘉兴市司法局", "", "", "负责{scope}公共法律服务、人民调解和法治宣传工作。"),
    "yj": ("yjglj", "嘉兴市应急管理局", "", "", "负责{scope}应急管理、安全生产监管和防灾减灾救灾工作。"),
}

# county prefix -> kinds of its departments in the demo catalogue
COUNTY_DEPARTMENTS = {
    "nh": ("mz", "ws", "jy"),
    "xz": ("jt", "mz", "sc"),
    "js": ("jy", "ws", "fg"),
    "ph": ("jt", "wl", "sc"),
    "hy": ("ws", "zj", "mz"),
    "hn": ("jt", "jy", "rs"),
    "tx": ("ws", "wl", "sc"),
}
# Nanhu's education bureau also runs sport, as it does in reality.
TITLE_OVERRIDES = {"nh-jyj": ("nh-jytyj", "南湖区教育体育局")}
# County departments left out of seeds/departments.json, so the sync must find their county in the title.
UNMAPPED = ("xz-scjgj", "js-fgj", "hy-mzj", "tx-wgltj")


@dataclass(frozen=True)
class Department:
    slug: str
    title: str
    kind: str
    description: str
    county: County | None  # None for a city department

    @property
    def region_name(self) -> str:
        return self.county.name if self.county else CITY_NAME

    @property
    def region_code(self) -> str:
        return self.county.code if self.county else CITY_CODE


def departments() -> list[Department]:
    """Return the city departments, then each county's."""
    result = [
        Department(f"jx-{slug}", title, kind, text.format(scope="全市"), None)
        for kind, (slug, title, _, _, text) in KINDS.items()
    ]
    for prefix, county_kinds in COUNTY_DEPARTMENTS.items():
        county = COUNTY_BY_PREFIX[prefix]
        scope = "全" + county.name[-1]
        for kind in county_kinds:
            _, _, slug, suffix, text = KINDS[kind]
            slug, title = TITLE_OVERRIDES.get(f"{prefix}-{slug}", (f"{prefix}-{slug}", county.name + suffix))
            result.append(Department(slug, title, kind, text.format(scope=scope), county))
    return result


def seed_mapping(all_departments: list[Department]) -> list[dict]:
    """Return the rows of seeds/departments.json: every department but the deliberately unmapped ones."""
    return [
        {"name": d.slug, "title": d.title, "region_code": d.region_code}
        for d in all_departments
        if d.slug not in UNMAPPED
    ]
