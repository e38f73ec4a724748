"""The one root finder: sign_root narrows each bracket to float precision, per element."""

import math

import numpy as np

from costgraph.core.roots import bisect, sign_root


def test_sign_root_finds_each_elements_root_to_float_precision():
    targets = np.array([2.0, 10.0, 1e6, 3e-9])
    roots = sign_root(lambda rows, x: x ** 3 - targets[rows], np.full(4, 1e-12),
                      np.full(4, 1e9))
    expected = np.cbrt(targets)
    assert np.all(np.abs(roots - expected) <= 4 * np.spacing(expected))


def test_sign_root_leaves_elements_without_a_bracket_undefined():
    roots = sign_root(lambda rows, x: x - 5.0, np.array([1.0, np.nan]), np.array([9.0, 9.0]))
    assert roots[0] == 5.0 and math.isnan(roots[1])


def test_sign_root_keeps_an_exact_zero_at_the_low_end():
    roots = sign_root(lambda rows, x: x - 1.0, np.array([1.0]), np.array([4.0]))
    assert roots[0] == 1.0


def test_bisect_stops_at_the_tolerance_asked_for():
    # no measure of how far (NaN): plain bisection, so the bracket shows the tolerance
    def pred(rows, x):
        return x <= 3.7, np.full(np.shape(x), np.nan)

    low, high = np.array([0.0]), np.array([10.0])
    coarse = bisect(pred, low, high, False, rel_tol=1e-3, abs_tol=0.0)
    fine = bisect(pred, low, high, False)
    assert 1e-7 < coarse[1][0] - coarse[0][0] <= 1e-3 * 3.7 * 1.01
    assert 0 < fine[1][0] - fine[0][0] <= 1e-12
    assert coarse[0][0] <= 3.7 < coarse[1][0] and fine[0][0] <= 3.7 < fine[1][0]
