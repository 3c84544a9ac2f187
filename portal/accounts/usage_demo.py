"""The demo's behaviour monitoring: the demo developer's tokens and a week of their use (`usage.record`).

One token reads rows steadily, one exported past today's alert threshold for rows, and a crawler's token
went past the daily limit of downloads, so the office's monitoring page shows figures, alerts and a
suspension to lift, and the developer's token page shows the suspended token with its reason.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal import clock
from portal.accounts import tokens, usage
from portal.accounts.models import ApiToken, User
from portal.accounts.usage import Tally
from portal.extensions import db

DEVELOPER_EMAIL = "developer@demo.jiaxing.example"
STEADY, EXPORTER, CRAWLER = "公交数据分析脚本", "批量导出", "站点采集测试"


def seed_demo_usage() -> int:
    """Give the demo developer three tokens and a week of use; return the days counted (0: done before)."""
    developer = db.session.scalar(select(User).where(User.email == DEVELOPER_EMAIL))
    if developer is None or db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == developer.id)):
        return 0
    limits = usage.Limits.from_config(current_app.config)
    steady, exporter, crawler = (tokens.create_token(developer, n)[0] for n in (STEADY, EXPORTER, CRAWLER))
    today = clock.today()
    for back in range(6, -1, -1):
        day = today - timedelta(days=back)
        reading = Tally(row_calls=300 + 40 * back, rows=30_000)
        usage.record(db.session, day, developer, steady, reading, limits)
        browsing = Tally(downloads=2 + back % 3, bytes=1_200_000)
        usage.record(db.session, day, developer, None, browsing, limits)
    past_alert = Tally(row_calls=25, rows=limits.soft.rows + 50_000)
    usage.record(db.session, today, developer, exporter, past_alert, limits)
    past_limit = limits.hard.downloads or 1
    crawled = Tally(downloads=past_limit, bytes=past_limit * 4096)
    usage.record(db.session, today, developer, crawler, crawled, limits)
    db.session.flush()
    if crawler.is_suspended:
        usage.notify_suspension(crawler)  # as the web does; commits
    return 7
