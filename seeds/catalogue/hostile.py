"""Three valid packages carrying hostile markup, tagged 安全测试, to test escaping and URL sanitising."""

from __future__ import annotations

from dataclasses import dataclass, field

SECURITY_TAG = "安全测试"


@dataclass(frozen=True)
class Hostile:
    department: str  # organization slug
    topic: str  # topic slug whose table it reuses
    name: str
    title: str
    notes: str
    cells: tuple[str, ...] = ()  # written into the first rows' first text column
    resource: dict | None = None  # an extra non-structured resource
    extras: dict = field(default_factory=dict)  # overriding extras values
    maintainer: str | None = None


HOSTILE = (
    Hostile(
        "jx-dsjj",
        "open-data-catalogue",
        "jx-dsjj-security-test-script",
        "公共数据开放目录（安全测试）<script>alert(1)</script>",
        "本数据集用于**平台安全测试**，标题和说明中含有恶意脚本片段，页面展示时必须转义。\n\n"
        "<script>alert(1)</script>\n\n"
        "- 正常列表项：数据目录名称、提供部门\n"
        '- 图片：<img src="x" onerror="alert(1)">\n\n'
        "详见[嘉兴市公共数据开放平台](https://data.jiaxing.gov.cn/)。",
        cells=(
            '<script>alert("cell")</script>',
            '=HYPERLINK("http://evil.example/","点击领取")',
            "<b onmouseover=alert(1)>悬停</b>",
        ),
    ),
    Hostile(
        "tx-wgltj",
        "cultural-events",
        "tx-wgltj-security-test-onerror",
        '桐乡市文化惠民活动安排"><img src=x onerror=alert(1)>',
        "桐乡市文化惠民活动安排（**安全测试**数据集）。\n\n"
        "1. [点击查看活动详情](javascript:alert(1))\n"
        '2. <a href="javascript:alert(document.cookie)">报名入口</a>\n'
        '3. <iframe src="https://evil.example/"></iframe>\n\n'
        "活动以[桐乡市人民政府网站](https://www.tx.gov.cn/)公布为准。",
        resource={
            "format": "API",
            "name": "活动报名接口<img src=x onerror=alert(1)>",
            "url": "javascript:alert(1)",
            "description": "<script>alert('resource')</script>报名接口说明",
        },
    ),
    Hostile(
        "jx-jtysj",
        "parking-lots",
        "jx-jtysj-security-test-javascript-url",
        "交通出行安全测试：公共停车场泊位信息",
        "用于**安全测试**的停车场数据，说明中混有不安全的 Markdown 与 HTML。\n\n"
        "- 示意图：![停车示意图](javascript:alert(1))\n"
        "- 矢量图：<svg onload=alert(1)></svg>\n"
        '- 大小写混合：<a href="JaVaScRiPt:alert(1)">泊位查询</a>\n'
        "- 正常链接：[嘉兴市交通运输局](https://jtj.jiaxing.gov.cn/)\n",
        cells=("<img src=x onerror=alert('cell')>",),
        resource={
            "format": "PDF",
            "name": "停车场收费标准（PDF）",
            "url": "JaVaScRiPt:alert(document.domain)",
            "description": "收费标准文件。",
        },
        extras={"data_source_system": "<script>alert('extra')</script>嘉兴市智慧停车平台"},
        maintainer="停车管理处<img src=x onerror=alert(2)>",
    ),
)


def inject_cells(rows: list[dict], payloads: tuple[str, ...]) -> None:
    """Put each payload into a text cell of successive rows."""
    for row, payload in zip(rows, payloads, strict=False):
        column = next(k for k, v in row.items() if isinstance(v, str))
        row[column] = payload
