"""Places of Jiaxing the demo catalogue draws on: counties, towns, roads, centres and A-level scenic spots."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class County:
    name: str
    short: str
    code: str  # GB/T 2260
    prefix: str  # organization slug prefix
    centre: tuple[float, float]  # longitude, latitude
    towns: tuple[str, ...]
    roads: tuple[str, ...]
    scenic: tuple[tuple[str, str], ...]  # A-level scenic spots and their grades


def _county(name, short, code, prefix, centre, towns: str, roads: str, scenic: str) -> County:
    spots = tuple(tuple(spot.split(":")) for spot in scenic.split())
    return County(name, short, code, prefix, centre, tuple(towns.split()), tuple(roads.split()), spots)


CITY_NAME = "嘉兴市"
CITY_CODE = "330400"

COUNTIES: tuple[County, ...] = (
    _county(
        "南湖区", "南湖", "330402", "nh", (120.783, 30.747),
        "建设街道 解放街道 新嘉街道 南湖街道 新兴街道 城南街道 东栅街道 长水街道 七星街道 "
        "大桥镇 余新镇 凤桥镇 新丰镇",
        "中山东路 南湖路 禾兴南路 越秀南路 东升东路 由拳路 城南路 广益路 纺工路 环城东路 "
        "勤俭路 少年路 花园路 三环东路",
        "南湖旅游区:5A 月河历史街区:4A 梅花洲景区:4A 湘家荡旅游度假区:4A 南湖天地:3A 子城遗址公园:3A",
    ),
    _county(
        "秀洲区", "秀洲", "330411", "xz", (120.709, 30.765),
        "新城街道 嘉北街道 塘汇街道 高照街道 王店镇 洪合镇 新塍镇 王江泾镇 油车港镇",
        "秀洲大道 洪兴路 昌盛路 中环西路 庆丰北路 康和路 新洲路 八字路 纺工北路",
        "运河湾景区:3A 新塍古镇:4A 莲泗荡风景区:4A 秀洲农民画艺术中心:3A 王店曝书亭:3A",
    ),
    _county(
        "嘉善县", "嘉善", "330421", "js", (120.926, 30.830),
        "魏塘街道 罗星街道 惠民街道 大云镇 西塘镇 干窑镇 陶庄镇 姚庄镇 天凝镇",
        "体育南路 谈公路 施家南路 解放东路 亭桥南路 晋阳东路 车站北路 罗星路",
        "西塘古镇旅游景区:5A 大云温泉省级旅游度假区:4A 碧云花园:4A 歌斐颂巧克力小镇:4A "
        "嘉善县博物馆:3A",
    ),
    _county(
        "平湖市", "平湖", "330482", "ph", (121.015, 30.698),
        "当湖街道 钟埭街道 曹桥街道 乍浦镇 新埭镇 新仓镇 独山港镇 广陈镇 林埭镇",
        "新华北路 当湖东路 胜利路 东湖大道 三港路 环城北路 西环南路 建国南路",
        "九龙山旅游度假区:4A 东湖景区:4A 莫氏庄园:4A 李叔同纪念馆:3A 乍浦天妃宫:3A",
    ),
    _county(
        "海盐县", "海盐", "330424", "hy", (120.946, 30.526),
        "武原街道 西塘桥街道 望海街道 秦山街道 沈荡镇 于城镇 澉浦镇 通元镇 百步镇",
        "武原大道 枣园中路 新桥北路 海滨大道 盐湖路 朝阳西路 长安南路 城北西路",
        "南北湖风景区:4A 绮园:4A 核电科技馆:3A 鱼鳞海塘遗址公园:3A 张元济图书馆:3A",
    ),
    _county(
        "海宁市", "海宁", "330481", "hn", (120.681, 30.511),
        "海洲街道 硖石街道 海昌街道 马桥街道 许村镇 长安镇 周王庙镇 盐官镇 斜桥镇 丁桥镇 "
        "袁花镇 黄湾镇",
        "文苑南路 海昌南路 水月亭西路 西山路 钱江西路 硖石路 工人路 联合路 海宁大道",
        "盐官观潮景区:4A 海宁中国皮革城:4A 王国维故居:3A 徐志摩故居:3A 金庸旧居:3A 长安画中画:3A",
    ),
    _county(
        "桐乡市", "桐乡", "330483", "tx", (120.565, 30.631),
        "梧桐街道 凤鸣街道 龙翔街道 高桥街道 濮院镇 乌镇镇 崇福镇 洲泉镇 大麻镇 河山镇 "
        "石门镇 屠甸镇",
        "庆丰南路 振兴东路 校场东路 世纪大道 茅盾路 复兴南路 环城南路 同德路",
        "乌镇旅游区:5A 濮院时尚古镇:4A 茅盾故居:3A 丰子恺故居（缘缘堂）:4A 桐乡石门湾:3A",
    ),
)  # fmt: skip

COUNTY_BY_PREFIX = {c.prefix: c for c in COUNTIES}

PLACE_STEMS = tuple(
    "梅湾 月河 烟雨 秀水 禾兴 嘉禾 槜李 鸳湖 文昌 双溪 清河 紫阳 嘉乐 锦绣 凌塘 洪波 城东 城西 湖滨 运河 "
    "真合 百花 安乐 金都 景湖 江南 东方 华庭 茶园 阳光 长虹 育才 龙盛 望湖 春晖 朝阳 府南 新港 翠竹 丽园 "
    "永安 和平 兴园 北湖 嘉苑 天星 桃源".split()
)
