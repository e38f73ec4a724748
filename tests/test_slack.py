"""One definition of slack and binding, read by the exact and the compiled paths alike."""

import numpy as np
import pytest

from costgraph.core.slack import BINDING_RTOL, binds, relative_slack, slack


@pytest.mark.parametrize("op, left, right, expected", [
    ("<=", 3.0, 5.0, 2.0), ("<", 3.0, 5.0, 2.0), (">=", 3.0, 5.0, -2.0), (">", 7.0, 5.0, 2.0)])
def test_slack_is_positive_while_the_constraint_holds(op, left, right, expected):
    assert slack(left, right, op) == expected


def test_relative_slack_divides_by_the_right_side_unless_it_is_zero():
    assert relative_slack([6.0, 4.0], [5.0, 5.0], "<=").tolist() == pytest.approx([-0.2, 0.2])
    assert float(relative_slack(-3.0, 0.0, ">=")) == -1.0  # against zero, over the left side
    assert float(relative_slack(-3.0, 0.0, ">=", zero_right="absolute")) == -3.0
    assert np.isnan(relative_slack(np.nan, 1.0, "<="))


def test_binding_means_the_sides_agree_to_the_tolerance():
    assert binds(1.0) and binds(1 + BINDING_RTOL / 2)
    assert not binds(1 + 2 * BINDING_RTOL) and not binds(None)


def test_compiled_margins_are_the_exact_slack_relative_to_the_right_side(tiny):
    status = tiny.solve(find="cost_per_mtok", given={"batch": 200}).constraints[0]
    f = tiny.compile("cost_per_mtok", ["batch"], constraints="declared")
    margin = float(f.margins(batch=np.array([200.0]))[status.id][0])
    exact = (status.slack / status.rhs).to("").magnitude
    assert margin == pytest.approx(exact, rel=1e-12)
    assert margin < 0 and status.holds is False  # 200 sequences of KV overflow the 141 GB


def test_a_constraint_at_its_limit_is_drawn_binding(tiny):
    r = tiny.solve(find="cost_per_mtok")
    assert r.constraints[0].tight is False  # 64 sequences leave room in the 141 GB
    assert "binding" not in r.graph().source
    full = f"{r['bytes_per_step'].to('GB').magnitude!r} GB"  # HBM exactly as large as needed
    at_limit = tiny.solve(find="cost_per_mtok", given={"hbm_capacity": full})
    assert at_limit.constraints[0].holds and at_limit.constraints[0].tight
    assert "binding" in at_limit.graph().source
