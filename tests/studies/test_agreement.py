"""Agreement on Krippendorff's worked example (Krippendorff 2011: ordinal alpha = 0.815)."""

from __future__ import annotations

import pytest

from crm_core.studies import ordinal_alpha, share_at_or_above, submit

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders x 12 units
TABLE = {
    "coder_a": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "coder_b": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "coder_c": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "coder_d": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def test_ordinal_alpha_and_headline_share(sessions, make_study, make_users):
    study = make_study(cases=12, ratings_per_item=4, randomize=False)
    for name in TABLE:
        make_users(1, prefix=name)
    items = sorted(study.items, key=lambda item: item.position)
    with sessions() as session:
        assert ordinal_alpha(session, study.id) is None  # nothing rated yet
        for name, values in TABLE.items():
            for item, value in zip(items, values, strict=True):
                if value is not None:
                    comments = {"overall": "low"} if value <= 2 else {}
                    submit(session, study.id, item.id, f"{name}00", {"data": 3, "overall": value}, comments)
        # a later version replaces coder_a's first answer: only latest versions count
        submit(session, study.id, items[0].id, "coder_a00", {"data": 3, "overall": 1}, {"overall": "still low"})
        alpha = ordinal_alpha(session, study.id, "overall")
        share = share_at_or_above(session, study.id, 4, "overall")
        assert ordinal_alpha(session, study.id, "data") is None  # one value only: undefined
    assert alpha == pytest.approx(0.815, abs=0.0005)
    values = [v for column in TABLE.values() for v in column if v is not None]
    assert share == pytest.approx(sum(v >= 4 for v in values) / len(values))
