"""The checker core: exact zero tests, failing steps, what a page shows."""
import pytest
import sympy as sp

from lib import symbolic
from lib.symbolic import EPS, Step, StepError, check_step, column, is_zero


def test_column_is_real_named_components():
    x = column("x", 4)
    assert x.shape == (4, 1)
    assert [str(e) for e in x] == ["x_1", "x_2", "x_3", "x_4"]
    assert all(e.is_real for e in x)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3"])
def test_column_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="N must be a positive integer"):
        column("x", bad)


def test_eps_is_positive():
    assert EPS.is_positive
    assert sp.sqrt(EPS**2) == EPS


def test_is_zero_rational_identity_needs_cancel():
    a, b = sp.symbols("a b", positive=True)
    assert is_zero(1 / (a + b) - (a - b) / (a**2 - b**2))
    assert not is_zero(1 / (a + b) - 1 / (a - b))


def test_is_zero_with_square_roots_and_eps():
    v = sp.Symbol("v", nonnegative=True)
    assert is_zero((v + EPS) ** sp.Rational(-3, 2) - 1 / (sp.sqrt(v + EPS) ** 3))
    # the exponent slip of a widely read post is not an identity
    assert not is_zero(sp.sqrt(v + EPS) ** sp.Rational(-1, 2) - (v + EPS) ** sp.Rational(-1, 2))


def test_is_zero_matrix_needs_every_entry():
    x = column("x", 3)
    assert is_zero(x - x)
    almost = x - x
    almost[2] = x[0] - x[1]
    assert not is_zero(almost)


def test_is_zero_evaluates_sums_and_derivatives():
    i = sp.Symbol("i", integer=True)
    t = sp.Symbol("t", real=True)
    assert is_zero(sp.Sum(i, (i, 1, 4)) - 10)
    assert is_zero(sp.Derivative(t**3, t) - 3 * t**2)


def test_check_step_returns_step_and_records_time():
    x = column("x", 2)
    before = len(symbolic.timings())
    step = check_step("expand a square", (x[0] + x[1]) ** 2,
                      x[0] ** 2 + 2 * x[0] * x[1] + x[1] ** 2, sizes="N = 2")
    assert isinstance(step, Step)
    assert step.seconds >= 0
    names = [name for name, _ in symbolic.timings()]
    assert len(names) == before + 1 and names[-1] == "expand a square"


def test_check_step_error_names_the_step_and_shows_residual():
    x = column("x", 2)
    with pytest.raises(StepError) as info:
        check_step("dropped cross term", (x[0] + x[1]) ** 2, x[0] ** 2 + x[1] ** 2,
                   sizes="N = 2")
    message = str(info.value)
    assert "dropped cross term" in message
    assert "N = 2" in message
    assert "2*x_1*x_2" in message


def test_step_error_is_an_assertion_error():
    assert issubclass(StepError, AssertionError)


def test_check_step_matrix_shapes_and_kinds():
    x = column("x", 2)
    with pytest.raises(ValueError, match="shapes differ"):
        check_step("shape", x, x.T)
    with pytest.raises(TypeError, match="one side is a Matrix"):
        check_step("kind", x, x[0])


def test_check_step_rejects_floats():
    x = column("x", 1)[0]
    with pytest.raises(TypeError, match="float"):
        check_step("float half", x / 2, 0.5 * x)


def test_step_renders_checked_objects():
    x = column("x", 2)
    step = check_step("sum", x[0] + x[1], x[1] + x[0], sizes="N = 2..5")
    latex = step.latex()
    assert latex == f"{sp.latex(x[0] + x[1])} = {sp.latex(x[1] + x[0])}"
    md = step.markdown()
    assert md.startswith("$$\n") and latex in md
    assert "checked by sympy for N = 2..5" in md
    shown = step._repr_latex_()
    assert shown.startswith("$$ " + latex) and shown.endswith("$$")
    assert r"\checkmark" in shown and r"\text{checked by sympy for N = 2..5}" in shown
    assert repr(step) == step.caption()


def test_step_display_overrides_latex():
    x = column("x", 1)[0]
    step = check_step("display", x, x, display=r"\hat x = \hat x")
    assert step.latex() == r"\hat x = \hat x"
    assert r"\hat x = \hat x" in step._repr_latex_()


def test_sizes_text_and_timing_line():
    assert symbolic.sizes_text("N", range(2, 6)) == "N = 2..5"
    assert symbolic.sizes_text("n", [2, 4]) == "n = 2, 4"
    symbolic.reset_timings()
    check_step("one", sp.Integer(1), sp.Integer(1))
    assert symbolic.timing_line("chapter 2").startswith("1 sympy check on chapter 2 took")


def test_write_root_turns_powers_of_the_radicand_into_powers_of_s():
    x = column("x", 2)
    radicand = (x[0] - x[1]) ** 2 / 4 + EPS
    s = sp.Symbol("s", positive=True)
    expr = radicand ** sp.Rational(-3, 2) * x[0] + 1 / sp.sqrt(radicand)
    assert symbolic.write_root(expr, radicand, s) == x[0] / s**3 + 1 / s
    assert symbolic.write_root(sp.Matrix([radicand ** sp.Rational(1, 2)]), radicand, s) == \
        sp.Matrix([s])


def test_expand_sums_makes_equal_sums_cancel():
    N = sp.Symbol("N", integer=True, positive=True)
    j = sp.Symbol("j", integer=True)
    x, c = sp.IndexedBase("x"), sp.Symbol("c")
    left = sp.Sum(c * x[j] + 1, (j, 1, N))
    assert symbolic.expand_sums(left - c * sp.Sum(x[j], (j, 1, N))) == N
    assert is_zero(left - c * sp.Sum(x[j], (j, 1, N)) - N)
    assert not is_zero(left - c * sp.Sum(x[j], (j, 1, N)))


def test_instantiate_a_general_formula():
    N = sp.Symbol("N", integer=True, positive=True)
    i, j = sp.symbols("i j", integer=True)
    x, mu = sp.IndexedBase("x"), sp.Symbol("mu")
    formula = x[i] - mu
    xs = column("x", 3)
    got = symbolic.instantiate(formula, values={mu: sp.Sum(x[j], (j, 1, N)) / N},
                               arrays={x: xs}, size=(N, 3), index=i, rows=3)
    assert got == sp.Matrix([xs[r] - sum(xs) / 3 for r in range(3)])


def test_to_latex_spells_gradients():
    i = sp.Symbol("i", integer=True)
    g = sp.IndexedBase("g")
    text = symbolic.to_latex(2 * g[i], {"g": r"\frac{\partial J}{\partial y_{@}}"})
    assert text == r"2 \frac{\partial J}{\partial y_{i}}"
    assert symbolic.to_latex(sp.Symbol("var"), {"var": r"\sigma^{2}"}) == r"\sigma^{2}"


def test_check_sizes_checks_each_size_and_names_the_failing_one():
    def build(n):
        x = column("x", n)
        return sum(x) ** 2, sum(xi**2 for xi in x) if n == 3 else sum(x) ** 2
    with pytest.raises(StepError, match=r"\[N = 3\]"):
        symbolic.check_sizes("square of a sum", build, [2, 3])
    step = symbolic.check_sizes("square of a sum", lambda n: (sum(column("x", n)) ** 2,) * 2,
                                range(2, 6), extra=", D = 1")
    assert step.sizes == "N = 2..5, D = 1"


def test_timing_line_adds_the_time_of_the_steps_shown():
    symbolic.reset_timings()
    x = column("x", 2)
    step = symbolic.check_step("sum of a column", sum(x), x[1] + x[0])
    line = symbolic.timing_line("this page", steps=[step])
    assert line.startswith("1 sympy check on this page took")
    assert "Building and checking the 1 step shown" in line
    assert "Building" not in symbolic.timing_line("this page")


def test_to_latex_as_built_keeps_the_order_of_a_matrix_sum_and_writes_powers():
    N = sp.Symbol("N", integer=True, positive=True)
    I, ones = sp.MatrixSymbol("I", N, N), sp.MatrixSymbol(r"\mathbf{1}", N, N)
    centre = sp.MatAdd(I, sp.MatMul(-1 / N, ones, evaluate=False), evaluate=False)
    assert symbolic.to_latex(centre, as_built=True) == r"I - \frac{1}{N} \mathbf{1}"
    var = sp.Symbol(r"\sigma^{2}", nonnegative=True)
    power = (var + EPS) ** sp.Rational(-3, 2)
    assert symbolic.to_latex(power, as_built=True) == r"\left(\sigma^{2} + \epsilon\right)^{-3/2}"
    assert "-3/2" not in symbolic.to_latex(power)          # the default printer writes a fraction


def test_write_root_sees_an_expanded_radicand_but_not_another_base():
    x, s = column("x", 2), sp.Symbol("s", positive=True)
    radicand = (x[0] - x[1]) ** 2 / 4 + EPS
    expanded = sp.expand(radicand)
    assert symbolic.write_root(expanded ** sp.Rational(-1, 2), radicand, s) == 1 / s
    other = (expanded + 1) ** sp.Rational(-1, 2)
    assert symbolic.write_root(other, radicand, s) == other

