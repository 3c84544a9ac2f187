"""Fake but well-formed cell values: places, companies, people, phone and ID numbers.

A column is written as "表头=generator:argument"; `cell` turns the generator part into a value for one row.
Personal data (names, mobile numbers, ID card numbers) is invented, yet passes the checks a masking rule
would apply (mobile prefixes, the GB 11643 check digit), so previews can be tested against it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from places import CITY_NAME, COUNTIES, PLACE_STEMS, County

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡沈钱顾陆俞金姚蒋曹许范褚屠潘冯郑费戴汤"
GIVEN = tuple(
    (
        "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 霞 平 刚 桂英 建华 晓东 雨欣 浩然 子涵 "
        "志强 文 华 佳 颖 嘉怡 宇航 海燕 建国 国庆 美华 丹 斌 晨 一鸣 思远 梓萱 欣怡"
    ).split()
)
MOBILE_PREFIXES = tuple(
    "130 131 132 133 135 136 137 138 139 150 151 152 157 158 159 177 180 181 186 187 188 189 199".split()
)
FIRM_WORDS = tuple(
    (
        "恒达 华联 永信 新华 锦江 万邦 博创 宏远 天顺 民丰 金穗 嘉业 禾泰 瑞博 德信 益康 诚信 丰华 鑫源 "
        "景兴 欣禾 正泰 明德 远航 凯越 中盛"
    ).split()
)
INDUSTRIES = tuple(
    (
        "纺织 皮革 科技 机械 电子 新材料 食品 物流 建材 服饰 光伏 化纤 家纺 贸易 医疗器械 汽车零部件 包装 "
        "印染"
    ).split()
)
BANKS = tuple(
    (
        "中国工商银行 中国农业银行 中国银行 中国建设银行 交通银行 中国邮政储蓄银行 嘉兴银行 浙商银行 "
        "浙江嘉兴农村商业银行"
    ).split()
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
HOURS = tuple("08:30-17:00 09:00-17:00 08:00-20:00 00:00-24:00 09:00-21:00 08:30-11:30，13:30-17:00".split())


@dataclass
class RowContext:
    """What a generator may look at: the dataset's random stream, year and area, and the row so far."""

    rng: random.Random
    year: int
    org_title: str
    area: County | None  # None for city-wide datasets
    index: int = 0
    county: County = COUNTIES[0]
    block: int = 1  # rows per period when a table lists every area for each period
    row: dict = field(default_factory=dict)


def cell(spec: str, ctx: RowContext) -> object:
    """Return one value for the generator part of a column spec."""
    name, _, argument = spec.partition(":")
    return GENERATORS[name](ctx, argument)


def id_check_digit(first17: str) -> str:
    """Return the GB 11643 check character of an 18-digit resident ID number."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character of a unified social credit code."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def id_number(rng: random.Random, region_code: str, born_from: int = 1940, born_to: int = 2004) -> str:
    start = dt.date(born_from, 1, 1)
    born = start + dt.timedelta(days=rng.randrange((dt.date(born_to, 12, 31) - start).days))
    first17 = f"{region_code}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return first17 + id_check_digit(first17)


def credit_code(rng: random.Random, region_code: str, kind: str = "91") -> str:
    """Return a unified social credit code; kind 91 is a company, 51 a social group, 31 a law firm."""
    body = "".join(rng.choice("0123456789" * 8 + "ABCDEFGHJKLMN") for _ in range(8))
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]
    check = 11 - sum(v * w for v, w in zip(values, ORG_CODE_WEIGHTS, strict=True)) % 11
    org_code = body + {10: "X", 11: "0"}.get(check, str(check))
    first17 = kind + region_code + org_code
    return first17 + uscc_check_char(first17)


def _stem(ctx: RowContext) -> str:
    if ctx.rng.random() < 0.4:
        town = ctx.rng.choice(ctx.county.towns)
        return town.removesuffix("街道").removesuffix("镇")
    return ctx.rng.choice(PLACE_STEMS)


def _address(ctx: RowContext) -> str:
    c = ctx.county
    prefix = c.name if ctx.area else CITY_NAME + c.name
    return f"{prefix}{ctx.rng.choice(c.towns)}{ctx.rng.choice(c.roads)}{ctx.rng.randint(1, 1999)}号"


def _company(ctx: RowContext, argument: str) -> str:
    industry = ctx.rng.choice(argument.split("|")) if argument else ctx.rng.choice(INDUSTRIES)
    region = ctx.rng.choice(("嘉兴", ctx.county.short, ctx.county.short))
    suffix = ctx.rng.choice(("有限公司", "有限公司", "股份有限公司"))
    return f"{region}{ctx.rng.choice(FIRM_WORDS)}{industry}{suffix}"


def _date(ctx: RowContext, argument: str) -> str:
    first, _, last = argument.partition(":")
    start = dt.date.fromisoformat(first or "2021-01-01")
    end = dt.date.fromisoformat(last or "2026-10-31")
    return (start + dt.timedelta(days=ctx.rng.randrange((end - start).days + 1))).isoformat()


def _number(ctx: RowContext, argument: str, decimals: int | None) -> float | int:
    parts = argument.split(":")
    low, high = float(parts[0]), float(parts[1])
    if decimals is None:
        return ctx.rng.randint(int(low), int(high))
    places = int(parts[2]) if len(parts) > 2 else decimals
    return round(ctx.rng.uniform(low, high), places)


def _aqi_level(ctx: RowContext, column: str) -> str:
    aqi = ctx.row[column]
    for limit, level in ((50, "优"), (100, "良"), (150, "轻度污染"), (200, "中度污染")):
        if aqi <= limit:
            return level
    return "重度污染"


def _seq(ctx: RowContext, argument: str) -> str:
    prefix, _, width = argument.partition(":")
    return f"{prefix}{ctx.index + 1:0{int(width or 4)}d}"


def _id_card(ctx: RowContext, argument: str) -> str:
    first, _, last = argument.partition(":")
    return id_number(ctx.rng, ctx.county.code, int(first or 1940), int(last or 2004))


def _jitter(ctx: RowContext, argument: str) -> float | int:
    """Return the row's reference value moved by up to 5 per cent, keeping its decimals."""
    text = argument.split("|")[ctx.index % len(argument.split("|"))]
    decimals = len(text.partition(".")[2])
    value = float(text) * ctx.rng.uniform(0.95, 1.05)
    return round(value, decimals) if decimals else int(round(value))


def _when(ctx: RowContext, argument: str) -> str:
    """Return a choice only when another column has a given value, "—" otherwise ("列=值:甲|乙")."""
    condition, _, choices = argument.partition(":")
    column, _, wanted = condition.partition("=")
    return ctx.rng.choice(choices.split("|")) if ctx.row.get(column) == wanted else "—"


def _lookup(ctx: RowContext, argument: str) -> str:
    """Return what another column's value maps to ("列:甲=1|乙=2/3"), by its longest matching ending.

    A value of several choices separated by "/" gives one of them.
    """
    column, _, pairs = argument.partition(":")
    table = dict(pair.split("=") for pair in pairs.split("|"))
    value = str(ctx.row[column])
    key = max((k for k in table if value.endswith(k)), key=len)
    choice = ctx.rng.choice(table[key].split("/"))
    return int(choice) if choice.isdigit() else choice


def _scale(ctx: RowContext, argument: str) -> float | int:
    """Return another column's value times a factor, give or take 15 per cent ("列:0.5")."""
    column, _, factor = argument.partition(":")
    source = ctx.row[column]
    value = source * float(factor) * ctx.rng.uniform(0.85, 1.15)
    return round(value, 1) if isinstance(source, float) else int(round(value))


def _primary_pollutant(ctx: RowContext, column: str) -> str:
    if ctx.row[column] <= 50:
        return "—"
    return ctx.rng.choice(("PM2.5", "PM2.5", "O3", "O3", "PM10", "NO2"))


def _age_band(ctx: RowContext, column: str) -> str:
    """Return the age band, on 31 December of the row's year, of the person whose ID number is in a column."""
    age = ctx.year - int(ctx.row[column][6:10])
    return "100周岁及以上" if age >= 100 else "90-99周岁" if age >= 90 else "80-89周岁"


def _brand(ctx: RowContext, argument: str) -> str:
    prefixes, _, suffixes = argument.partition(":")
    return (
        ctx.rng.choice(prefixes.split("|")) + ctx.rng.choice(FIRM_WORDS) + ctx.rng.choice(suffixes.split("|"))
    )


def _area(ctx: RowContext) -> str:
    names = ctx.area.towns if ctx.area else tuple(c.name for c in COUNTIES)
    return names[ctx.index % len(names)]


def _bus_line(ctx: RowContext) -> str:
    return f"{ctx.rng.choice(('', '', 'K', 'B', '城乡'))}{ctx.rng.randint(1, 320)}路"


GENERATORS = {
    "seq": _seq,
    "pick": lambda ctx, a: ctx.rng.choice(a.split("|")),
    "cyc": lambda ctx, a: a.split("|")[ctx.index % len(a.split("|"))],
    "place": lambda ctx, a: _stem(ctx) + ctx.rng.choice(a.split("|")),
    "road": lambda ctx, a: ctx.rng.choice(ctx.county.roads),
    "town": lambda ctx, a: ctx.rng.choice(ctx.county.towns),
    "county": lambda ctx, a: ctx.county.name,
    "area": lambda ctx, a: _area(ctx),
    "addr": lambda ctx, a: _address(ctx),
    "lng": lambda ctx, a: round(ctx.county.centre[0] + ctx.rng.uniform(-0.07, 0.07), 6),
    "lat": lambda ctx, a: round(ctx.county.centre[1] + ctx.rng.uniform(-0.06, 0.06), 6),
    "phone": lambda ctx, a: f"0573-8{ctx.rng.randint(2000000, 9999999)}",
    "mobile": lambda ctx, a: mobile(ctx.rng),
    "person": lambda ctx, a: person(ctx.rng),
    "idcard": _id_card,
    "company": _company,
    "uscc": lambda ctx, a: credit_code(ctx.rng, ctx.county.code, a or "91"),
    "int": lambda ctx, a: _number(ctx, a, None),
    "float": lambda ctx, a: _number(ctx, a, 2),
    "date": _date,
    "month": lambda ctx, a: f"{ctx.year}-{ctx.index // int(a or ctx.block) % 12 + 1:02d}",
    "quarter": lambda ctx, a: f"{ctx.year}年第{ctx.index // int(a or ctx.block) % 4 + 1}季度",
    "day": lambda ctx, a: (dt.date(ctx.year, 1, 1) + dt.timedelta(days=ctx.index)).isoformat(),
    "level": _aqi_level,
    "busline": lambda ctx, a: _bus_line(ctx),
    "lines": lambda ctx, a: "、".join(_bus_line(ctx) for _ in range(ctx.rng.randint(1, 4))),
    "hours": lambda ctx, a: ctx.rng.choice(HOURS),
    "bank": lambda ctx, a: f"{ctx.rng.choice(BANKS)}{ctx.county.short}{_stem(ctx)}支行",
    "scenic": lambda ctx, a: ctx.county.scenic[ctx.index % len(ctx.county.scenic)][0],
    "scenicgrade": lambda ctx, a: ctx.county.scenic[ctx.index % len(ctx.county.scenic)][1],
    "org": lambda ctx, a: ctx.org_title,
    "areaorg": lambda ctx, a: _area(ctx) + a,
    "brand": _brand,
    "when": _when,
    "map": _lookup,
    "scale": _scale,
    "primary": _primary_pollutant,
    "ageband": _age_band,
    "jit": _jitter,
    "district": lambda ctx, a: "、".join(
        _stem(ctx) + ctx.rng.choice(("小区", "社区", "新村", "花园")) for _ in range(3)
    ),
    "crossing": lambda ctx, a: "与".join(ctx.rng.sample(ctx.county.roads, 2)) + "交叉口",
    "const": lambda ctx, a: int(a) if a.isdigit() else a,
}
