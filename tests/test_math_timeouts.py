"""Time limits of bounded workers and of the math reward: what the clock counts, what a time-out
scores, and that one time-out does not make the next call slow."""

import os
import subprocess
import sys
import time

import pytest

from grpo_ext.rewards import math as rm
from grpo_ext.rewards._bounded import BoundedTimeout, BoundedWorker

# 150 factorials of about 16,000 digits each: about a second of real work here, far over 0.05 s anywhere
SLOW = "\\boxed{" + "+".join(f"{n}!" for n in range(4850, 5000)) + "}"


def _spin(cpu_seconds: float) -> str:
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass
    return "spun"


def _loaded(name: str) -> bool:
    return name in sys.modules


@pytest.fixture
def slow_module(tmp_path, monkeypatch):
    """A module whose import spends 1.5 s of CPU (like sympy's on a busy machine)."""
    (tmp_path / "slow_import_i17.py").write_text(
        "import time\nend = time.process_time() + 1.5\nwhile time.process_time() < end:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # the worker's PYTHONPATH is the caller's sys.path
    return "slow_import_i17"


def test_preloaded_imports_are_outside_the_clock(slow_module):
    cold, warm = BoundedWorker(), BoundedWorker(preload=[slow_module])
    try:
        with pytest.raises(BoundedTimeout) as err:  # importing inside the call: 1.5 s against 0.5 s
            cold.call(__import__, (slow_module,), timeout=0.5)
        assert err.value.cause == "input"
        assert warm.call(_loaded, (slow_module,), timeout=0.5) is True
    finally:
        cold.close()
        warm.close()


def test_a_time_out_leaves_a_warm_worker_behind(slow_module):
    worker = BoundedWorker(preload=[slow_module])
    try:
        with pytest.raises(BoundedTimeout) as err:
            worker.call(_spin, (30.0,), timeout=0.3)
        assert err.value.cause == "input" and err.value.own_seconds >= 0.3
        assert worker.restarts == 1
        # the replacement imported the slow module before its clock started
        assert worker.call(_loaded, (slow_module,), timeout=0.5) is True
    finally:
        worker.close()


def test_warm_adds_preloads_outside_the_clock(slow_module):
    worker = BoundedWorker()
    try:
        assert worker.call(_loaded, (slow_module,), timeout=5) is False
        worker.warm([slow_module])
        assert worker.call(_loaded, (slow_module,), timeout=0.5) is True
    finally:
        worker.close()


def _hog() -> subprocess.Popen:
    """A busy loop on CPU 0, in a session of its own (with autogroups, the kernel shares a CPU
    between sessions first)."""
    return subprocess.Popen([sys.executable, "-c", "import os\nos.sched_setaffinity(0, {0})\nwhile True:\n    pass"],
                            start_new_session=True)


@pytest.mark.skipif(not os.path.exists("/proc/self/schedstat"), reason="needs Linux schedstat (the wall-clock fallback applies)")
def test_waiting_for_a_cpu_is_not_charged_and_a_starved_call_is_a_machine_time_out():
    worker = BoundedWorker()
    pid = worker.call(os.getpid, timeout=5)
    os.sched_setaffinity(pid, {0})
    hogs = [_hog() for _ in range(3)]
    try:
        time.sleep(0.2)
        # 0.3 s of work with at most a quarter of CPU 0: over 1.2 s on the clock, 0.3 s of its own
        assert worker.call(_spin, (0.3,), timeout=1.0) == "spun"
        os.setpriority(os.PRIO_PROCESS, pid, 19)
        if os.path.exists(f"/proc/{pid}/autogroup"):  # nice acts between sessions through the autogroup
            with open(f"/proc/{pid}/autogroup", "w") as f:
                f.write("19")
        with pytest.raises(BoundedTimeout) as err:  # 0.3 s of work against 0.2 s, a 2 s ceiling, ~0.5% of a CPU
            worker.call(_spin, (0.3,), timeout=0.2)
        assert err.value.cause == "machine" and err.value.wall_seconds >= 2.0  # the ceiling: 10 x 0.2 s
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        worker.close()


def test_input_time_out_is_reported_and_scores_zero_not_none():
    """A completion that runs the check out of its own time failed: 0.0, never the None that
    training turns into a zero advantage (a dodge)."""
    check = rm.explain(SLOW, "1", timeout=0.05)
    assert check.correct is None and check.timeout == "input" and check.reason.startswith("timed out")
    assert rm.score(SLOW, "1", timeout=0.05) == 0.0
    assert rm.score(SLOW, "1", timeout=0.05, timeout_score=None) == 0.0
    assert rm.verify(SLOW, "1", timeout=0.05) is False
    assert rm.explain("\\boxed{2}", "2").correct is True  # the next check is unaffected


def test_machine_time_out_gets_timeout_score():
    from grpo_ext.rewards.math.reward import _value

    busy = rm.Check(None, "1", correct=None, reason="timed out", timeout="machine")
    assert _value(busy, None) is None and _value(busy, 0.0) == 0.0
    assert _value(rm.Check(None, "1", correct=None, timeout="input"), None) == 0.0


def test_math_accuracy_logs_the_time_out_share():
    logged = []
    reward = rm.MathAccuracy(timeout=0.05)
    out = reward(completions=[SLOW, "\\boxed{3}", "\\boxed{4}", "\\boxed{5}"], answer=["1", "3", "3", "5"],
                 log_metric=lambda name, value: logged.append((name, value)))
    assert out == [0.0, 1.0, 0.0, 1.0]
    assert logged == [("math/timeout", 0.25)]
    assert reward.totals == {"checked": 4, "timeout_input": 1}


def test_the_runner_preloads_what_math_accuracy_needs():
    from grpo_ext.rewards.math.reward import PRELOAD
    from grpo_ext.rewards.runner import RewardRunner

    assert rm.MathAccuracy.preload == PRELOAD == ("sympy", f"{rm.__name__}.parse", f"{rm.__name__}.compare")
    with RewardRunner(num_workers=1, timeout=5.0) as runner:
        assert runner.run(rm.MathAccuracy(), completions=["\\boxed{\\frac12}"], answer=["0.5"]) == [1.0]
        worker = runner._idle.get()  # noqa: SLF001 (the pool's only worker, idle again)
        try:
            assert worker.preload == PRELOAD
            assert worker.call(_loaded, (f"{rm.__name__}.compare",), timeout=5) is True
        finally:
            runner._idle.put(worker)  # noqa: SLF001
