"""Where a new rubric can start from: the office's templates, or the rubric of the last round that had one.

Nothing here writes: the rubric page fills its form from a starting point, and the office reviews and saves
it through `setup.set_rubric`, which checks it like any typed rubric.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.contest.models import Contest, Criterion, Round
from portal.contest.setup import CriterionSpec
from portal.extensions import db

LAST_ROUND = "last"


@dataclass(frozen=True)
class Template:
    key: str
    label: object  # lazy text, in the reader's language
    criteria: tuple[CriterionSpec, ...]


# Criteria are contest content and read in Chinese, as the office will show them to judges and teams.
TEMPLATES = (
    Template(
        "application",
        _l("Data application (innovation, data use, value, completeness)"),
        (
            CriterionSpec("创新性", 30, 10, "思路新颖，与已有应用相比有突破", tiebreak_order=2),
            CriterionSpec("数据应用", 30, 10, "充分、合规地使用平台开放数据", tiebreak_order=1),
            CriterionSpec("应用价值", 25, 10, "解决实际问题，具备推广前景"),
            CriterionSpec("完成度", 15, 10, "功能完整，可以演示"),
        ),
    ),
    Template(
        "final",
        _l("Final round (adds the presentation)"),
        (
            CriterionSpec("创新性", 25, 10, "思路新颖，与已有应用相比有突破", tiebreak_order=2),
            CriterionSpec("数据应用", 25, 10, "充分、合规地使用平台开放数据", tiebreak_order=1),
            CriterionSpec("应用价值", 20, 10, "解决实际问题，具备推广前景"),
            CriterionSpec("完成度", 15, 10, "功能完整，可以演示"),
            CriterionSpec("现场答辩", 15, 10, "讲解清楚，回答切题"),
        ),
    ),
    Template(
        "idea",
        _l("Idea stage (innovation, feasibility, data)"),
        (
            CriterionSpec("创新性", 40, 10, "问题和思路新颖", tiebreak_order=1),
            CriterionSpec("可行性", 35, 10, "技术路线和计划可行"),
            CriterionSpec("数据需求", 25, 10, "说明用到的开放数据及其用法"),
        ),
    ),
)


def template(key: str) -> Template | None:
    return next((t for t in TEMPLATES if t.key == key), None)


def last_rubric_round(round_: Round) -> Round | None:
    """Return the round whose rubric the office set most recently before this one: an earlier round of the
    same contest, else the latest round of an earlier contest; None when no other round has a rubric."""
    has_rubric = select(Criterion.round_id).distinct()
    query = (
        select(Round)
        .join(Contest, Contest.id == Round.contest_id)
        .where(Round.id != round_.id, Round.id.in_(has_rubric))
        .order_by(
            (Round.contest_id == round_.contest_id).desc(),
            Contest.year.desc(),
            Contest.id.desc(),
            Round.position.desc(),
            Round.id.desc(),
        )
    )
    same_contest_later = (Round.contest_id == round_.contest_id) & (Round.position > round_.position)
    return db.session.scalar(query.where(~same_contest_later).limit(1))


def specs_of(round_: Round) -> list[CriterionSpec]:
    """Return a round's rubric as specs another round can take."""
    return [
        CriterionSpec(c.name, c.weight, c.max_score, c.description, c.tiebreak_order) for c in round_.criteria
    ]


def starting_point(key: str, round_: Round) -> tuple[object, list[CriterionSpec]] | None:
    """Return the label and criteria that `key` names for `round_`, or None for an unknown key."""
    if key == LAST_ROUND:
        source = last_rubric_round(round_)
        if source is None:
            return None
        label = _l("%(contest)s · %(round)s", contest=source.contest.name, round=source.name)
        return label, specs_of(source)
    chosen = template(key)
    return (chosen.label, list(chosen.criteria)) if chosen else None
