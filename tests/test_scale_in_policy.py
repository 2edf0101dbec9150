"""The scale-in policy's rules, over many fleets (hypothesis): which instance a scale-in removes
next under Default, NewestVM and OldestVM, with zones, fault domains, creation times and
protection — the order `vmss scale` and the platform share."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from vmsscli.domain.scaling import is_protected_from_scale_in, scale_in_order
from vmsscli.model import Instance, Protection, ScaleSet

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@st.composite
def fleets(draw):
    zones = draw(st.sampled_from([[], ["1", "2"], ["1", "2", "3"]]))
    count = draw(st.integers(1, 24))
    instances = []
    for instance_id in range(count):
        protected = draw(st.sampled_from([None, "in", "actions", None, None]))
        instances.append(
            Instance(
                id=instance_id,
                zone=draw(st.sampled_from(zones)) if zones else "",
                fault_domain=draw(st.integers(0, 4)),
                created=T0 + timedelta(minutes=draw(st.integers(0, 30))),
                protection=None
                if protected is None
                else Protection(
                    scale_in=protected == "in", scale_set_actions=protected == "actions"
                ),
            )
        )
    policy = draw(st.sampled_from([[], ["Default"], ["NewestVM"], ["OldestVM"]]))
    return ScaleSet(zones=zones, scale_in_policy=policy, instances=instances)


@settings(max_examples=300, deadline=None)
@given(fleets(), st.integers(1, 24))
def test_each_victim_follows_the_policy_rules(scale_set, count):
    policy = (scale_set.scale_in_policy or ["Default"])[0]
    remaining = list(scale_set.instances)
    chosen = scale_in_order(scale_set, count)
    removable = [i for i in remaining if not is_protected_from_scale_in(i)]
    # As many as asked, or every instance that protection leaves removable.
    assert len(chosen) == min(count, len(removable))
    for victim in chosen:
        assert not is_protected_from_scale_in(victim)
        candidates = [i for i in remaining if not is_protected_from_scale_in(i)]
        zones = Counter(i.zone for i in remaining)
        # Zones stay balanced: the victim is in the fullest zone that has a removable instance.
        fullest = max(zones[i.zone] for i in candidates)
        assert zones[victim.zone] == fullest
        peers = [i for i in candidates if zones[i.zone] == fullest]
        if policy == "NewestVM":
            newest = max(i.created for i in peers)
            assert victim.created == newest
            assert victim.id == max(i.id for i in peers if i.created == newest)
        elif policy == "OldestVM":
            oldest = min(i.created for i in peers)
            assert victim.created == oldest
            assert victim.id == min(i.id for i in peers if i.created == oldest)
        else:
            domains = Counter((i.zone, i.fault_domain) for i in remaining)
            busiest = max(domains[(i.zone, i.fault_domain)] for i in peers)
            assert domains[(victim.zone, victim.fault_domain)] == busiest
            assert victim.id == max(
                i.id for i in peers if domains[(i.zone, i.fault_domain)] == busiest
            )
        remaining.remove(victim)


def test_newest_and_oldest_differ_from_default_on_one_fleet():
    """Three zones of two; created in the order 0, 5, 4, 3, 2, 1 (1 is the newest)."""
    instances = [
        Instance(id=i, zone=str(i % 3 + 1), fault_domain=0, created=T0 + timedelta(hours=i * 5 % 6))
        for i in range(6)
    ]

    def first(policy):
        scale_set = ScaleSet(zones=["1", "2", "3"], scale_in_policy=policy, instances=instances)
        return [i.id for i in scale_in_order(scale_set, 3)]

    assert first([]) == [5, 4, 3]  # the highest ids, one zone after another
    assert first(["NewestVM"]) == [1, 2, 3]
    assert first(["OldestVM"]) == [0, 5, 4]
