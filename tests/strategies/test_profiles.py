"""The Hypothesis profiles and the ci profile's share of examples for ops with large graphs."""

import pytest
from hypothesis import settings

from strategies.profiles import PROFILE_NAMES, examples_for, load_profile


@pytest.fixture
def restore_profile():
    """Loading a profile changes Hypothesis' global default: put the worker's profile back."""
    before = settings.get_current_profile_name()
    yield
    settings.load_profile(before)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_only_the_ci_profile_shares_out_examples(profile, restore_profile):
    load_profile(profile)
    examples = examples_for(30, ci_share=1 / 3)
    assert examples == (10 if profile == "ci" else 30)
    assert examples_for(30, ci_share=1) == 30


def test_a_share_keeps_at_least_two_examples(restore_profile):
    load_profile("ci")
    assert examples_for(4, ci_share=0.1) == 2


@pytest.mark.parametrize("share", [0, -0.5, 1.5])
def test_a_share_outside_zero_to_one_is_refused_with_its_value(share):
    with pytest.raises(ValueError, match=f"ci_share must be in \\(0, 1\\], got {share}"):
        examples_for(10, ci_share=share)


def test_unknown_profile_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown Hypothesis profile 'weekly'.*dev, ci, nightly"):
        load_profile("weekly")
