"""sanctions_pep honours analysts' "not this person" decisions (issue #12 item 3, R-D2) and a
kyb-2026.11.1 replay is unchanged by the PEP owner points and the new hit fields (item 4)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from checks.facts import HitDismissal, ScreeningHit
from checks.kyb.screening import sanctions_pep
from checks.policy import POLICY_DIR, load_policy

HIT = ScreeningHit(kind="sanctions", list_name="OFAC SDN", list_version="2026-11-20",
                   entry_id="12345", entry_name="IVANOV, Ivan", matched_alias="Ivan Ivanov",
                   subject="Ivan Ivanov", subject_role="owner", score=95.0)
AT = datetime(2026, 11, 27, 9, tzinfo=UTC)


def _dismissal(status: str) -> HitDismissal:
    return HitDismissal(dismissal_id="sdm-1", status=status, reason="born 1980, not 1960",
                        dismissed_by="ayse", dismissed_at=AT,
                        confirmed_by="mehmet" if status == "active" else None,
                        confirmed_at=AT if status == "active" else None)


def _screen(make_facts, policy, now, *hits):
    facts = make_facts(screening_hits=hits, screened_lists=("OFAC SDN@2026-11-20",))
    return sanctions_pep(facts, policy, now)


def test_a_confirmed_dismissal_no_longer_counts_but_stays_in_evidence(make_facts, policy, now):
    hit = dataclasses.replace(HIT, dismissal=_dismissal("active"))
    result = _screen(make_facts, policy, now, hit)
    assert (result.status, result.points) == ("pass", 0)
    assert result.evidence["strong"] == [] and result.evidence["below_threshold"] == 0
    shown = result.evidence["dismissed"][0]
    assert shown["dismissal"]["dismissed_by"] == "ayse"
    assert shown["dismissal"]["confirmed_by"] == "mehmet"
    assert shown["dismissal"]["reason"] == "born 1980, not 1960"


def test_a_pending_dismissal_still_counts(make_facts, policy, now):
    hit = dataclasses.replace(HIT, dismissal=_dismissal("pending"))
    result = _screen(make_facts, policy, now, hit)
    assert result.status == "fail" and "dismissed" not in result.evidence
    assert result.evidence["strong"][0]["dismissal"]["status"] == "pending"


def test_one_dismissed_hit_leaves_the_others_judged(make_facts, policy, now):
    other = dataclasses.replace(HIT, entry_id="999", score=80.0)
    result = _screen(make_facts, policy, now,
                     dataclasses.replace(HIT, dismissal=_dismissal("active")), other)
    assert result.status == "flag" and result.evidence["possible"][0]["entry_id"] == "999"


def test_kyb_2026_11_1_replay_keeps_its_points_and_evidence(make_facts, now):
    """The older policy has no ``pep_owner_points``: a PEP owner flags with ``points``, and the
    hit's evidence carries none of the keys added since."""
    old = load_policy(POLICY_DIR / "kyb-2026.11.1.toml")
    assert "pep_owner_points" not in old.check("sanctions_pep").params
    hit = dataclasses.replace(HIT, kind="pep", score=99.0, position="Minister")
    result = _screen(make_facts, old, now, hit)
    assert (result.status, result.points) == ("flag", old.check("sanctions_pep").points)
    assert "pep_owner" not in result.evidence
    assert not {"position", "dismissal", "identifier_match"} & set(result.evidence["possible"][0])


def test_the_current_policy_reads_pep_owner_points():
    assert load_policy().check("sanctions_pep").params["pep_owner_points"] == 60
