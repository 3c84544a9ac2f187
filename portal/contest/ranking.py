"""From judges' rubric scores to round scores, ranks and who advances: pure arithmetic (DESIGN.md).

- A judge's score for an entry: Σ weightᵢ × scoreᵢ / maxᵢ, out of 100.
- Optional z-score normalisation: a judge's score s becomes μ + σ·(s − μⱼ)/σⱼ, where μⱼ, σⱼ are the mean and
  population standard deviation of that judge's scores in the round (σⱼ = 0 gives μ) and μ, σ those of all the
  round's scores; clamped to 0..100.
- An entry's round score: the mean of its judges' scores, or with `trimmed_mean` the mean without one highest
  and one lowest once five or more judges scored.
- Ranks within a group (a track): higher score first; ties break on the mean raw score of each criterion in
  the round's tie-break order (`Round.tiebreak_criteria`: the rubric's order unless the office reorders it),
  then on the earlier submission; entries still equal share a rank (1, 2, 2, 4).

Figures are floats and are rounded only for display. Two figures that agree to nine decimal places count as
equal, so float noise never splits a tie: the inputs carry one decimal, so true differences are far larger.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

MEAN, TRIMMED_MEAN = "mean", "trimmed_mean"
MIN_JUDGES_TO_TRIM = 5
TIE_DECIMALS = 9
OUTLIER_POINTS = 10.0  # a judge this far above or below co-judges on the same entries, on average, stands out


@dataclass(frozen=True)
class Criterion:
    id: int
    weight: float  # percent; a rubric's weights add up to 100
    max_score: float


@dataclass(frozen=True)
class Sheet:
    """One judge's submitted raw scores on one entry."""

    entry_id: int
    judge_id: int
    scores: Mapping[int, float]  # criterion id → raw score


@dataclass(frozen=True)
class Contender:
    entry_id: int
    group: Hashable  # entries are ranked within their group (the track)
    submitted_at: datetime


@dataclass(frozen=True)
class Rules:
    aggregation: str = MEAN
    normalise: bool = False
    tiebreak: tuple[int, ...] = ()  # criterion ids in tie-break order: every criterion of the rubric
    advance_count: int | None = None
    advance_cutoff: float | None = None


@dataclass
class Result:
    entry_id: int
    group: Hashable
    submitted_at: datetime
    judges: int = 0
    mean: float | None = None  # of the raw weighted scores
    trimmed: float | None = None  # of the raw weighted scores; None below five judges
    normalised: float | None = None  # the round's aggregation of the normalised scores
    score: float | None = None  # what the entry ranks on
    criterion_means: dict[int, float] = field(default_factory=dict)
    rank: int | None = None  # None when no judge has scored the entry
    advances: bool = False


@dataclass(frozen=True)
class JudgeStats:
    judge_id: int
    count: int
    mean: float
    spread: float  # population standard deviation
    lowest: float
    highest: float
    offset: float | None  # mean difference to co-judges on the same entries; None without co-judges

    @property
    def is_outlier(self) -> bool:
        return self.offset is not None and abs(self.offset) >= OUTLIER_POINTS


class IncompleteSheet(ValueError):
    """A sheet lacks a score for one of the rubric's criteria."""


def weighted_score(scores: Mapping[int, float], criteria: Sequence[Criterion]) -> float:
    """Return Σ weightᵢ × scoreᵢ / maxᵢ, out of 100."""
    missing = [c.id for c in criteria if c.id not in scores]
    if missing:
        raise IncompleteSheet(f"no score for criteria {missing}")
    return sum(c.weight * float(scores[c.id]) / c.max_score for c in criteria)


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def trimmed_mean(values: Sequence[float]) -> float:
    """Return the mean without one highest and one lowest value, or the plain mean below five values."""
    if len(values) < MIN_JUDGES_TO_TRIM:
        return mean(values)
    return mean(sorted(values)[1:-1])


def aggregate(values: Sequence[float], method: str) -> float:
    if method == TRIMMED_MEAN:
        return trimmed_mean(values)
    if method == MEAN:
        return mean(values)
    raise ValueError(f"unknown aggregation {method!r}")


def normalise(scores: Mapping[tuple[int, int], float]) -> dict[tuple[int, int], float]:
    """Return each (entry id, judge id) score mapped onto the round's scale, clamped to 0..100."""
    if not scores:
        return {}
    mu, sigma = _mean_and_spread(scores.values())
    by_judge: dict[int, list[float]] = defaultdict(list)
    for (_, judge), value in scores.items():
        by_judge[judge].append(value)
    judge_figures = {judge: _mean_and_spread(values) for judge, values in by_judge.items()}
    normalised = {}
    for (entry, judge), value in scores.items():
        mu_j, sigma_j = judge_figures[judge]
        z = (value - mu_j) / sigma_j if sigma_j > 0 else 0.0
        normalised[(entry, judge)] = min(100.0, max(0.0, mu + sigma * z))
    return normalised


def compute(
    criteria: Sequence[Criterion], sheets: Iterable[Sheet], contenders: Iterable[Contender], rules: Rules
) -> list[Result]:
    """Return every contender's figures and rank, best first within each group (groups in first-seen order).

    Sheets of entries that are not contenders are ignored, so a disqualified entry counts nowhere.
    """
    results = {c.entry_id: Result(c.entry_id, c.group, c.submitted_at) for c in contenders}
    sheets = [s for s in sheets if s.entry_id in results]
    raw = {(s.entry_id, s.judge_id): weighted_score(s.scores, criteria) for s in sheets}
    adjusted = normalise(raw)
    by_entry: dict[int, list[Sheet]] = defaultdict(list)
    for sheet in sheets:
        by_entry[sheet.entry_id].append(sheet)
    for entry_id, entry_sheets in by_entry.items():
        result = results[entry_id]
        totals = [raw[(entry_id, s.judge_id)] for s in entry_sheets]
        norms = [adjusted[(entry_id, s.judge_id)] for s in entry_sheets]
        result.judges = len(entry_sheets)
        result.mean = mean(totals)
        result.trimmed = trimmed_mean(totals) if len(totals) >= MIN_JUDGES_TO_TRIM else None
        result.normalised = aggregate(norms, rules.aggregation)
        result.score = result.normalised if rules.normalise else aggregate(totals, rules.aggregation)
        result.criterion_means = {c.id: mean([float(s.scores[c.id]) for s in entry_sheets]) for c in criteria}
    ranked: list[Result] = []
    for group in dict.fromkeys(r.group for r in results.values()):
        ranked.extend(rank([r for r in results.values() if r.group == group], rules))
    return ranked


def rank(results: list[Result], rules: Rules) -> list[Result]:
    """Set competition ranks and advancement on one group's results; return them best first."""
    scored = sorted((r for r in results if r.score is not None), key=lambda r: _order_key(r, rules.tiebreak))
    previous_key, previous_rank = None, 0
    for position, result in enumerate(scored, start=1):
        key = _order_key(result, rules.tiebreak)
        result.rank = previous_rank if key == previous_key else position
        previous_key, previous_rank = key, result.rank
        result.advances = _advances(result, rules)
    unscored = sorted((r for r in results if r.score is None), key=lambda r: (r.submitted_at, r.entry_id))
    for result in unscored:
        result.rank, result.advances = None, False
    return scored + unscored


def judge_statistics(scores: Mapping[tuple[int, int], float]) -> list[JudgeStats]:
    """Describe each judge's (entry id, judge id) → score figures, to spot lenient or harsh judges."""
    by_judge: dict[int, list[tuple[int, float]]] = defaultdict(list)
    by_entry: dict[int, list[float]] = defaultdict(list)
    for (entry, judge), value in scores.items():
        by_judge[judge].append((entry, value))
        by_entry[entry].append(value)
    stats = []
    for judge, items in sorted(by_judge.items()):
        values = [v for _, v in items]
        offsets = [
            value - (sum(by_entry[entry]) - value) / (len(by_entry[entry]) - 1)
            for entry, value in items
            if len(by_entry[entry]) > 1
        ]
        mu, sigma = _mean_and_spread(values)
        offset = mean(offsets) if offsets else None
        stats.append(JudgeStats(judge, len(values), mu, sigma, min(values), max(values), offset))
    return stats


def _mean_and_spread(values: Iterable[float]) -> tuple[float, float]:
    values = list(values)
    return mean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


def _same(value: float) -> float:
    return round(value, TIE_DECIMALS)


def _order_key(result: Result, tiebreak: Sequence[int]) -> tuple:
    assert result.score is not None
    tiebreaks = tuple(-_same(result.criterion_means.get(c, 0.0)) for c in tiebreak)
    return (-_same(result.score), *tiebreaks, result.submitted_at)


def _advances(result: Result, rules: Rules) -> bool:
    if result.score is None:
        return False
    if rules.advance_count is not None:
        return result.rank is not None and result.rank <= rules.advance_count
    if rules.advance_cutoff is not None:
        return _same(result.score) >= _same(rules.advance_cutoff)
    return False
