"""lib.gradcheck: the finite differences and the error measure every page uses."""
import numpy as np
import pytest

from lib.gradcheck import numerical_gradient, rel_error


def test_centred_differences_of_a_known_function():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    f = lambda v: float(np.sum(np.sin(v)) + np.sum(v ** 3))
    assert rel_error(numerical_gradient(f, x), np.cos(x) + 3 * x ** 2) < 1e-9


def test_the_input_is_not_modified():
    x = np.array([1.0, 2.0, 3.0])
    numerical_gradient(lambda v: float(v @ v), x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_a_wrong_gradient_is_reported_as_wrong():
    x = np.array([1.0, 2.0, 3.0])
    numeric = numerical_gradient(lambda v: float(v @ v), x)
    assert rel_error(numeric, 2 * x) < 1e-9
    assert rel_error(numeric, -2 * x) == pytest.approx(1.0)     # a sign error
    assert rel_error(numeric, x) > 0.2                          # a forgotten factor 2


def test_rel_error_edge_cases():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error([], []) == 0.0
    with pytest.raises(ValueError, match=r"cannot compare shapes \(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="h must be > 0"):
        numerical_gradient(lambda v: 0.0, np.zeros(2), h=0)
