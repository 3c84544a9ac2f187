"""Assigning entries to judges, as properties over generated panels (hypothesis); no app, no database."""

from __future__ import annotations

from collections import Counter, defaultdict, deque

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.contest.assignment import Entry, Judge, is_eligible, plan

COUNTIES = [None, 330402, 330411, 330421]  # None: a judge or team without a county

panels = st.tuples(
    st.lists(st.sampled_from(COUNTIES), max_size=8),  # the judges' counties
    st.lists(st.sampled_from(COUNTIES), max_size=14),  # the entries' (teams') counties
    st.integers(min_value=1, max_value=4),  # k
)


def build(judge_counties, entry_counties):
    judges = [Judge(100 + n, county) for n, county in enumerate(judge_counties)]
    entries = [Entry(n, county) for n, county in enumerate(entry_counties)]
    return judges, entries


def loads(judges, pairs) -> Counter:
    counted = Counter({j.id: 0 for j in judges})
    counted.update(judge_id for _, judge_id in pairs)
    return counted


@settings(max_examples=100, deadline=None)
@given(panels)
def test_every_entry_gets_k_judges_when_enough_are_eligible(panel):
    judges, entries = build(panel[0], panel[1])
    k = panel[2]
    pairs = plan(entries, judges, k)
    per_entry = Counter(entry_id for entry_id, _ in pairs)
    for entry in entries:
        eligible = sum(is_eligible(j, entry) for j in judges)
        assert per_entry[entry.id] == min(k, eligible)
    assert len(set(pairs)) == len(pairs)


@settings(max_examples=100, deadline=None)
@given(panels)
def test_no_judge_gets_an_entry_of_their_own_county(panel):
    judges, entries = build(panel[0], panel[1])
    by_id = {j.id: j for j in judges}
    county = {e.id: e.region_id for e in entries}
    for entry_id, judge_id in plan(entries, judges, panel[2]):
        judge_county = by_id[judge_id].region_id
        assert judge_county is None or county[entry_id] is None or judge_county != county[entry_id]


@settings(max_examples=100, deadline=None)
@given(panels)
def test_loads_differ_by_at_most_one_whenever_the_counties_allow_it(panel):
    judges, entries = build(panel[0], panel[1])
    k = panel[2]
    counted = loads(judges, plan(entries, judges, k))
    if judges and balanced_plan_exists(judges, entries, k):
        assert max(counted.values()) - min(counted.values()) <= 1


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 8), st.lists(st.sampled_from(COUNTIES), max_size=20), st.integers(1, 4))
def test_loads_differ_by_at_most_one_when_no_judge_has_a_county(judge_count, entry_counties, k):
    judges, entries = build([None] * judge_count, entry_counties)
    counted = loads(judges, plan(entries, judges, k))
    assert max(counted.values()) - min(counted.values()) <= 1


def test_existing_assignments_count_towards_k_and_are_not_made_again():
    judges, entries = build([None, None, None], [None, None])
    pairs = plan(entries, judges, 2, existing=[(0, 100), (0, 101)])
    assert [p for p in pairs if p[0] == 0] == []
    assert len([p for p in pairs if p[0] == 1]) == 2
    assert (1, 102) in pairs  # judge 102 has the smallest load


def test_excluded_pairs_are_never_made():
    judges, entries = build([None, None, None], [None])
    pairs = plan(entries, judges, 3, excluded=[(0, 101)])  # judge 101 declared a conflict
    assert pairs == [(0, 100), (0, 102)]


def test_a_county_entry_goes_to_judges_of_other_counties():
    judges, entries = build([330402, 330411, None], [330402])
    assert plan(entries, judges, 3) == [(0, 101), (0, 102)]


def test_no_judges_means_no_assignments():
    assert plan([Entry(1, None)], [], 3) == []


# The oracle: is there any valid plan whose loads all lie in [⌊S/m⌋, ⌈S/m⌉]? A flow with lower bounds says.


def balanced_plan_exists(judges, entries, k) -> bool:
    wanted = {e.id: min(k, sum(is_eligible(j, e) for j in judges)) for e in entries}
    total = sum(wanted.values())
    low, high = total // len(judges), -(-total // len(judges))
    capacity: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    excess: Counter = Counter()
    for entry in entries:  # source → entry carries exactly wanted[e]: lower = upper bound
        excess[f"e{entry.id}"] += wanted[entry.id]
        excess["s"] -= wanted[entry.id]
        for judge in judges:
            if is_eligible(judge, entry):
                capacity[f"e{entry.id}"][f"j{judge.id}"] += 1
    for judge in judges:  # judge → sink carries between low and high
        capacity[f"j{judge.id}"]["t"] += high - low
        excess["t"] += low
        excess[f"j{judge.id}"] -= low
    capacity["t"]["s"] += total
    for node, amount in excess.items():
        if amount > 0:
            capacity["S*"][node] += amount
        elif amount < 0:
            capacity[node]["T*"] += -amount
    needed = sum(amount for amount in excess.values() if amount > 0)
    return _max_flow(capacity, "S*", "T*") == needed


def _max_flow(capacity, source, sink) -> int:
    flow = 0
    residual = defaultdict(lambda: defaultdict(int))
    for u, targets in capacity.items():
        for v, c in targets.items():
            residual[u][v] += c
    while True:
        parent = {source: None}
        queue = deque([source])
        while queue and sink not in parent:
            u = queue.popleft()
            for v, c in list(residual[u].items()):
                if c > 0 and v not in parent:
                    parent[v] = u
                    queue.append(v)
        if sink not in parent:
            return flow
        v, path = sink, []
        while parent[v] is not None:
            path.append((parent[v], v))
            v = parent[v]
        push = min(residual[u][v] for u, v in path)
        for u, v in path:
            residual[u][v] -= push
            residual[v][u] += push
        flow += push
