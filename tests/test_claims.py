"""lib.claims: a measured claim holds when its t interval lies within its bound, and says on how
many seeds it holds; a reversed result raises ClaimError naming the claim."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lib import claims


def _claim(values, **bounds):
    return claims.Claim(key="test-claim", chapter=9, statement="with BN it is smaller",
                        experiment="test()", quantity="with BN / without",
                        seeds=tuple(range(len(values))), values=tuple(values), **bounds)


def test_the_interval_uses_the_t_quantile_for_the_number_of_seeds():
    values = [1.0, 2.0, 3.0]
    mean, lo, hi = claims.t_interval(values)
    assert mean == 2.0
    assert hi - mean == pytest.approx(stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3))
    assert hi - mean > 2 * 1.0 / np.sqrt(3) * 2          # far wider than ±2 s.e. at 3 seeds


def test_a_claim_holds_when_its_interval_is_inside_the_bound():
    c = _claim([0.4, 0.5, 0.45, 0.55, 0.5], high=1.0)
    assert c.holds and c.held == 5 and c.on_seeds == "on every seed"
    assert c.check() is c


def test_a_reversed_result_fails_and_the_message_names_the_claim():
    c = _claim([1.4, 1.5, 1.45, 1.55, 1.5], high=1.0)
    assert not c.holds and c.held == 0
    with pytest.raises(claims.ClaimError, match=r"claim 'test-claim' \(chapter 9\) does not hold.*< 1"):
        c.check()


def test_a_claim_on_most_seeds_says_so_and_every_seed_is_stricter():
    values = [0.5, 0.6, 0.55, 0.5, 1.1]
    assert _claim(values, high=1.5).on_seeds == "on every seed"
    c = _claim(values, high=1.0)
    assert c.on_seeds == "on 4 of 5 seeds"
    assert not _claim([0.1, 0.2, 0.15, 0.12, 1.05], high=1.0, every_seed=True).holds


def test_a_wide_interval_does_not_hold_even_when_the_mean_does():
    assert not _claim([0.2, 1.6], high=1.0).holds       # mean 0.9, t_1 interval far above 1


def test_two_sided_bounds():
    assert _claim([0.001, -0.002, 0.0, 0.003, -0.001], low=-0.02, high=0.02).holds
    assert not _claim([0.03, 0.04, 0.035, 0.03, 0.04], low=-0.02, high=0.02).holds


@pytest.mark.parametrize("values, message", [([1.0], "at least two values"),
                                             ([1.0, float("nan")], "finite")])
def test_bad_values_are_named(values, message):
    with pytest.raises(ValueError, match=message):
        _claim(values, high=1.0)


def test_a_claim_without_a_bound_is_refused():
    with pytest.raises(ValueError, match="no bound"):
        _claim([1.0, 2.0])


def test_rows_give_chapter_seeds_interval_and_result():
    (row,) = claims.rows([_claim([0.4, 0.5, 0.45, 0.55, 0.5], high=1.0)])
    assert row["chapter"] == 9 and row["seeds"] == 5 and row["claimed"] == "< 1"
    assert row["result"] == "holds, on every seed"
