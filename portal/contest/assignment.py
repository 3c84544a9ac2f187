"""Which judge scores which entry: k judges per entry, none of the entry's county, loads balanced. Pure.

The plan first gives each entry (the most constrained first) the least-loaded eligible judges, then moves
new assignments along chains (entry e leaves judge A for judge B, entry f leaves B for C …) while a chain
takes one entry from a judge to a judge with at least two fewer. When no such chain is left, no valid plan
has a smaller spread of loads (the load vectors of valid plans form an M-convex set, where this local
optimum is global), so loads differ by at most one whenever the counties allow it. Existing assignments
are counted, never moved.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

Pair = tuple[int, int]  # (entry id, judge id)


@dataclass(frozen=True)
class Judge:
    id: int
    region_id: int | None  # the judge's county; None when they belong to none


@dataclass(frozen=True)
class Entry:
    id: int
    region_id: int | None  # the team's county; None for a team without one


def is_eligible(judge: Judge, entry: Entry) -> bool:
    """A judge never scores an entry of their own county."""
    return judge.region_id is None or entry.region_id is None or judge.region_id != entry.region_id


def plan(
    entries: Iterable[Entry],
    judges: Iterable[Judge],
    k: int,
    *,
    existing: Iterable[Pair] = (),
    excluded: Iterable[Pair] = (),
) -> list[Pair]:
    """Return the new (entry id, judge id) pairs that bring each entry up to k judges, sorted.

    `existing` pairs count towards k and towards the judges' loads; `excluded` pairs (declared conflicts,
    assignments admins removed, judges on the entry's team) are never made. An entry with fewer than k
    eligible judges gets all of them.
    """
    entries = sorted(entries, key=lambda e: e.id)
    judges = sorted(judges, key=lambda j: j.id)
    existing = set(existing)
    load = {j.id: 0 for j in judges}
    assigned: dict[int, set[int]] = defaultdict(set)
    for entry_id, judge_id in existing:
        assigned[entry_id].add(judge_id)
        if judge_id in load:
            load[judge_id] += 1
    blocked = existing | set(excluded)
    candidates = {
        e.id: [j.id for j in judges if is_eligible(j, e) and (e.id, j.id) not in blocked] for e in entries
    }
    new = _fill(entries, candidates, k, load, assigned)
    _rebalance(load, new, assigned, {entry_id: set(ids) for entry_id, ids in candidates.items()})
    return sorted((entry_id, judge_id) for judge_id, entry_ids in new.items() for entry_id in entry_ids)


def _fill(
    entries: list[Entry],
    candidates: dict[int, list[int]],
    k: int,
    load: dict[int, int],
    assigned: dict[int, set[int]],
) -> dict[int, set[int]]:
    """Give each entry, the most constrained first, its least-loaded candidates; return judge → entries."""
    new: dict[int, set[int]] = defaultdict(set)
    for entry in sorted(entries, key=lambda e: (len(candidates[e.id]), e.id)):
        options = list(candidates[entry.id])
        while len(assigned[entry.id]) < k and options:
            judge_id = min(options, key=lambda j: (load[j], j))
            options.remove(judge_id)
            assigned[entry.id].add(judge_id)
            new[judge_id].add(entry.id)
            load[judge_id] += 1
    return new


def _rebalance(
    load: dict[int, int],
    new: dict[int, set[int]],
    assigned: dict[int, set[int]],
    candidates: dict[int, set[int]],
) -> None:
    """Move new assignments along improving chains until none is left; each move lowers Σ load²."""
    while (chain := _improving_chain(load, new, assigned, candidates)) is not None:
        for entry_id, source, target in chain:
            new[source].discard(entry_id)
            new[target].add(entry_id)
            assigned[entry_id].discard(source)
            assigned[entry_id].add(target)
        load[chain[0][1]] -= 1
        load[chain[-1][2]] += 1


def _improving_chain(
    load: dict[int, int],
    new: dict[int, set[int]],
    assigned: dict[int, set[int]],
    candidates: dict[int, set[int]],
) -> list[tuple[int, int, int]] | None:
    """Find moves (entry, from judge, to judge) taking one entry from a judge to one with two fewer."""
    for start in sorted(load, key=lambda j: (-load[j], j)):
        came_from: dict[int, tuple[int, int] | None] = {start: None}
        queue = deque([start])
        while queue:
            judge_id = queue.popleft()
            for entry_id in sorted(new[judge_id]):
                for target in sorted(candidates[entry_id] - assigned[entry_id]):
                    if target in came_from:
                        continue
                    came_from[target] = (judge_id, entry_id)
                    if load[target] <= load[start] - 2:
                        return _chain_to(target, came_from)
                    queue.append(target)
    return None


def _chain_to(target: int, came_from: dict[int, tuple[int, int] | None]) -> list[tuple[int, int, int]]:
    moves = []
    step = came_from[target]
    while step is not None:
        source, entry_id = step
        moves.append((entry_id, source, target))
        target, step = source, came_from[source]
    return list(reversed(moves))
