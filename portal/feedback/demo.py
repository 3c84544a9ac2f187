"""Demo feedback for `init --demo`: error reports in every state (one of exposed personal data, which holds
its dataset's previews), data requests with votes and every answer, ratings and comments (shown, held for
moderation, reported as abusive and hidden at the threshold), made through the same domain functions users
go through, and told as the pages tell (in the site and by email); and the link check over the mirrored
copies (`seed_demo_link_health`). Idempotent: once any report (or link check) exists, nothing is added."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal import clock, outbound
from portal.accounts import mailing
from portal.accounts.models import ADMIN, DEVELOPER, JUDGE, User
from portal.catalogue import linkcheck, ratings, rules
from portal.catalogue.models import Dataset, Resource
from portal.catalogue.quality import LinkCheck
from portal.extensions import db
from portal.feedback import comments, data_requests, notify, reports
from portal.feedback.models import DataRequest, DatasetComment, ErrorReport

REPORTS = [  # (kind, text, answer: None | "acknowledge" | "fix" | "reject", reply, hours to reply)
    ("outdated", "最近一次更新是去年，数据说明写的是按月更新。", "fix", "已补充更新至上月数据。", 20),
    ("wrong_values", "第 12 行的经纬度落在海里，应是录入错误。", "fix", "已核对并更正该点位坐标。", 50),
    ("broken_link", "CSV 资源的下载链接打开是 404。", "acknowledge", "已转交数源部门核实。", 6),
    (
        "format",
        "日期列有的写 2024/1/5，有的写 2024年1月5日。",
        "reject",
        "原始系统导出格式如此，下一版统一。",
        30,
    ),
    ("other", "希望增加英文字段说明。", None, "", 0),
    ("personal_data", "预览第 3 行显示了完整的手机号码。", "acknowledge", "已暂停预览，正在脱敏处理。", 3),
]


def seed_demo_feedback(working_days: int = 5) -> int:
    """Add the demo's reports, requests and ratings; return how many reports were added."""
    if db.session.scalar(select(ErrorReport.id).limit(1)) is not None:
        return 0
    office = db.session.scalar(select(User).where(User.role == ADMIN).order_by(User.id))
    people = list(db.session.scalars(select(User).where(User.role.in_((DEVELOPER, JUDGE))).order_by(User.id)))
    datasets = list(
        db.session.scalars(
            select(Dataset)
            .where(rules.published())
            .order_by(Dataset.download_count.desc(), Dataset.id)
            .limit(8)
        )
    )
    if office is None or not people or not datasets:
        return 0
    now = clock.now()
    filed_reports = []
    for n, (kind, text, answer, reply, hours) in enumerate(REPORTS):
        filed = now - timedelta(days=20 - 3 * n)
        report = reports.file_report(
            datasets[n % len(datasets)],
            by=people[n % len(people)],
            kind=kind,
            text=text,
            now=filed,
            working_days=working_days,
        )
        filed_reports.append(report)
        when = filed + timedelta(hours=hours)
        if answer == "acknowledge":
            reports.acknowledge(report, by=office, reply=reply, now=when)
        elif answer == "fix":
            reports.fix(report, by=office, reply=reply, now=when)
        elif answer == "reject":
            reports.reject(report, by=office, reply=reply, now=when)
    asked = _requests(office, people, datasets, now)
    _comments(office, people, datasets, now)
    for n, dataset in enumerate(datasets):
        for m, person in enumerate(people):
            ratings.rate(dataset, user_id=person.id, stars=5 - (n + m) % 3, now=now)
    db.session.flush()
    _tell(filed_reports, asked)  # last: queueing mail commits the session
    return len(REPORTS)


def _tell(filed: list[ErrorReport], asked: list[DataRequest]) -> None:
    """Tell people as the pages do (feedback/notify.py): the deciders of each report and request filed, the
    reporters of those answered, the requesters and voters of those answered; in the site and by email."""
    for report in filed:
        notify.report_filed(report, now=report.created_at)
        if report.replied_at is not None:
            link = mailing.link("feedback.dataset_reports", name=report.dataset.name)
            notify.notify(
                [report.reporter], notify.REPORT_ANSWERED, report=report, link=link, now=report.replied_at
            )
    for item in asked:
        notify.request_filed(item, now=item.created_at)
        if item.answered_at is not None:
            link = mailing.link("feedback.request_detail", request_id=item.id)
            people = data_requests.people_to_tell(item)
            notify.notify(people, notify.REQUEST_ANSWERED, request=item, link=link, now=item.answered_at)


def _requests(office: User, people: list[User], datasets: list[Dataset], now) -> list[DataRequest]:
    asked = [
        data_requests.ask(
            by=people[0],
            title="全市公共充电桩实时空闲状态",
            reason="开发充电导航小程序",
            department=None,
            now=now - timedelta(days=12),
        ),
        data_requests.ask(
            by=people[-1],
            title="历年中小学学区划分",
            reason="研究教育资源分布",
            department=datasets[0].department,
            now=now - timedelta(days=9),
        ),
        data_requests.ask(
            by=people[0],
            title="公交车辆到站预测",
            reason="出行服务",
            department=None,
            now=now - timedelta(days=4),
        ),
        data_requests.ask(
            by=people[-1],
            title="企业员工个人社保缴纳明细",
            reason="用于企业信用评估",
            department=datasets[-1].department,
            now=now - timedelta(days=7),
        ),
    ]
    for person in people[1:]:
        data_requests.vote(asked[0], by=person, now=now - timedelta(days=10))
    data_requests.answer(
        asked[0], by=office, status="planned", text="已列入下季度开放计划。", now=now - timedelta(days=5)
    )
    data_requests.answer(
        asked[1],
        by=office,
        status="published",
        text="已开放，见关联数据集。",
        now=now - timedelta(days=2),
        dataset=datasets[0],
    )
    data_requests.answer(
        asked[3],
        by=office,
        status="declined",
        text="涉及个人信息，不予开放；可申请有条件开放的企业社保汇总数据。",
        now=now - timedelta(days=6),
    )
    data_requests.comment(
        asked[2], by=people[-1], text="同样需要，最好有实时接口。", now=now - timedelta(days=3)
    )
    return asked


COMMENTS = [  # (text, approved by the office)
    ("数据很实用，已用于社区便民地图，希望增加 2025 年的数据。", True),
    ("**字段说明**不够详细，`区划代码` 一列的编码规则是什么？", False),
]


def _comments(office: User, people: list[User], datasets: list[Dataset], now) -> None:
    """On the first datasets: a person's comment approved, another held, and the office's reply shown."""
    rules = comments.Rules()
    for n, dataset in enumerate(datasets[:3]):
        for m, (text, approved) in enumerate(COMMENTS):
            added = comments.add(
                dataset,
                by=people[(n + m) % len(people)],
                text=text,
                now=now - timedelta(days=6 - m),
                rules=rules,
            )
            if approved:
                comments.approve(added, by=office, now=now - timedelta(days=5))
        comments.add(
            dataset,
            by=office,
            text="感谢建议，2025 年数据将于下月更新。",
            now=now - timedelta(days=4),
            rules=rules,
        )
    # Reports of abuse: the first dataset's approved comment by everyone else (hidden at the threshold,
    # back in the moderators' queue), the second's by one person (still shown, one report counted).
    for n, reporters in ((0, rules.hide_after), (1, 1)):
        approved = db.session.scalar(
            select(DatasetComment).where(
                DatasetComment.dataset_id == datasets[n].id, DatasetComment.text == COMMENTS[0][0]
            )
        )
        others = [p for p in people if p.id != approved.user_id][:reporters]
        for person in others:
            comments.report(approved, by=person, now=now - timedelta(days=2), rules=rules)


def seed_demo_link_health(store) -> tuple[int, int]:
    """Run the link check over the published datasets' mirrored copies (read from storage: nothing leaves
    the machine), after losing one archived copy (存档) as a storage fault would, so that the pages, cards
    and the quality board show what the check reports. Return (checked, broken); (0, 0) once any check
    exists. The linked resources (on the city's site) are left to the scheduled job."""
    if db.session.scalar(select(LinkCheck.resource_id).limit(1)) is not None:
        return 0, 0
    mirrored = list(
        db.session.scalars(
            select(Resource)
            .join(Dataset, Dataset.id == Resource.dataset_id)
            .where(rules.published(), Resource.state == "active", Resource.storage_key.is_not(None))
            .order_by(Resource.id)
        )
    )
    archived = [r for r in mirrored if "存档" in (r.name or "")]
    if archived:
        store.delete(archived[0].storage_key)
    results = linkcheck.check(mirrored, guard=outbound.Guard.from_settings(), now=clock.now(), store=store)
    return len(results), sum(r.broken for r in results.values())
