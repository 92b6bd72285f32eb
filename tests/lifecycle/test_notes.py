"""A refusal's free-text note holds no personal data (issue 14): one that looks like a phone
number, an email address, a postcode or a date of birth is refused and nothing changes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from reciprocal.domain import RefusedBy
from reciprocal.errors import InputFileError
from reciprocal.lifecycle import run, views

from tests.conftest import ROUND_DAY


@pytest.mark.parametrize("note", ["ring her on 07700 900123", "moved in with mum at PE1 1AA"])
def test_a_refusal_note_with_personal_data_is_refused(db, scheme, week1, note):
    proposal = week1["RQ-0101"]
    with pytest.raises(InputFileError) as caught:
        run.refuse(db, scheme, proposal, ROUND_DAY + timedelta(days=1), RefusedBy.household, "other", note,
                   reasonable=False)
    assert "a refusal's note holds no personal data" in str(caught.value.problems[0])
    assert views.proposal_view(db, proposal)["status"] == "proposed"


def test_a_plain_note_is_kept(db, scheme, week1):
    proposal = week1["RQ-0101"]
    run.refuse(db, scheme, proposal, ROUND_DAY + timedelta(days=1), RefusedBy.household, "other",
               "too far from the school", reasonable=False, resolve=False)
    assert views.proposal_view(db, proposal)["decline_reason"] == "too far from the school"
