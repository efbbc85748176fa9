"""Evaluate rewards in a pool of worker processes, under hard time and memory limits.

A reward is called the way TRL calls it: once, on the whole batch, so a reward that looks at the
batch (ranks, the longest completion, group statistics) computes the same values by name as the
same function passed to the trainer as a callable. The time limit (``timeout``, seconds) and the
memory ceiling then hold for that call. A reward that declares itself *item-wise*
(``itemwise = True``, or ``@rewards.register(itemwise=True)``; the built-in math, format and
length rewards are) is instead called on one completion at a time, spread over the workers, each
completion under its own limit: a completion that hangs or eats memory then costs only its own
score.

A call that raises, crashes its worker or runs out of time scores ``timeout_value`` (``None`` by
default) for the completions it covered; the worker is replaced by a warm spare. A result of the
wrong length or type is an error naming the reward and both counts, as TRL's is for a callable.
Each batch's failures are counted (:attr:`RewardRunner.stats`: ``ok``, ``timeouts``, of which
``timeouts_machine`` ran into the wall-clock ceiling of a busy machine, ``crashes`` for raised
exceptions and dead workers) and summed up in one warning line. With TRL's ``log_metric``, each
batch logs ``rewards/<name>/failed`` (completions whose reward failed) and
``runner/<name>/timeout`` (the share that timed out). When a reward *raises or crashes* on at
least ``stop_share`` of a batch (default 1.0: on every completion), the runner raises
:class:`RewardFailedError` and the run stops, as TRL stops on a callable's first exception;
time-outs never stop a run (they are the completion's doing). A reward with a ``preload``
attribute (module names, as ``math_accuracy`` has) gets them imported by every worker before any
clock starts. Results come back in input order.

    runner = RewardRunner(num_workers=4, timeout=5.0)
    scores = runner.run(rewards.get("math_accuracy"), prompts=..., completions=..., answer=...)
    reward_fn = runner.wrap(rewards.get("math_accuracy"))  # a TRL-style reward using the pool

Rewards and their columns are shipped to the workers with cloudpickle. Trainer objects that TRL
passes (``trainer_state``, ``log_extra``, ``log_metric``, ``environments``) stay in the parent:
a reward that needs them cannot run in the pool (inside the pool, a reward's own ``math/timeout``
is not logged: the runner's limit is the one that applies).
"""

from __future__ import annotations

import logging
import queue
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._bounded import DEFAULT_MEMORY_BYTES, BoundedCrash, BoundedTimeout, BoundedWorker
from .registry import TRAINER_ARGS, Reward, RewardError, check_output

logger = logging.getLogger(__name__)
ITEM_RUNS_PER_WORKER = 4  # an item-wise batch goes out as this many requests per worker (balance vs messages)


class RewardFailedError(RewardError):
    """A reward raised or crashed on too many completions of one batch; the run stops."""


def _call_reward(fn: Callable, kwargs: dict[str, Any]):
    """Runs in a worker: the reward on the batch (or the one-item batch) it is given."""
    return fn(**kwargs)


class RewardRunner:
    """A pool of ``num_workers`` bounded worker processes (started on first use).

    ``timeout``: seconds one call may take (one completion for item-wise rewards, the batch for the
    others); ``stop_share``: the share of a batch's completions on which a reward may raise or
    crash before :meth:`run` raises :class:`RewardFailedError` (above 1: never)."""

    def __init__(self, num_workers: int = 2, timeout: float = 10.0, timeout_value: float | None = None,
                 memory_bytes: int | None = DEFAULT_MEMORY_BYTES, stop_share: float = 1.0):
        if num_workers < 1:
            raise ValueError(f"RewardRunner needs num_workers >= 1, got {num_workers}")
        if timeout <= 0:
            raise ValueError(f"RewardRunner needs a positive timeout in seconds, got {timeout}")
        if not stop_share > 0:
            raise ValueError(f"RewardRunner needs stop_share > 0 (1.0: stop when every item fails), got {stop_share}")
        self.num_workers, self.timeout, self.timeout_value = num_workers, timeout, timeout_value
        self.stop_share = stop_share
        self._idle: queue.Queue[BoundedWorker] = queue.Queue()
        for _ in range(num_workers):
            self._idle.put(BoundedWorker(memory_bytes))
        self._threads = ThreadPoolExecutor(num_workers, thread_name_prefix="reward-runner")
        self.stats: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()  # reward name -> completions whose reward failed, all batches

    def _call(self, fn: Callable, kwargs: dict) -> tuple[Any, str, str]:
        """(raw output, outcome, detail): outcome is "ok", "timeout" or "crash"."""
        worker = self._idle.get()
        try:
            worker.warm(getattr(fn, "preload", ()))
            value = worker.call(_call_reward, (fn, kwargs), timeout=self.timeout)
            self.stats["ok"] += 1
            return value, "ok", ""
        except BoundedTimeout as err:
            self.stats["timeouts"] += 1
            self.stats["timeouts_machine"] += err.cause == "machine"
            return None, "timeout", str(err).replace(f"{_call_reward.__name__} ", "the call ", 1)
        except BoundedCrash as err:
            self.stats["crashes"] += 1
            return None, "crash", str(err)
        finally:
            self._idle.put(worker)

    def run(self, fn: Callable, prompts: Sequence | None = None, completions: Sequence = (),
            completion_ids: Sequence | None = None, **columns) -> list[float | None]:
        """Score every completion with ``fn`` (a TRL-style reward), in order."""
        n = len(completions)
        name = getattr(fn, "__name__", type(fn).__name__)
        log_metric = columns.get("log_metric")
        columns = {k: v for k, v in columns.items() if k not in TRAINER_ARGS}
        batch = dict(columns, prompts=prompts, completions=completions, completion_ids=completion_ids)
        if not isinstance(fn, Reward):
            fn = Reward(fn, name)  # the same column selection as registered rewards
        batch = fn.select(batch)  # a missing column fails here, once, not in every worker
        for key, values in batch.items():
            if values is not None and len(values) != n:
                raise ValueError(f"reward {name!r}: column {key!r} has {len(values)} values for {n} completions")
        if not n:
            return []
        scores, outcomes = self._itemwise(name, fn, batch, n) if fn.itemwise else self._batch(name, fn, batch, n)
        self._account(name, outcomes, n, log_metric)
        return scores

    def _batch(self, name: str, reward: Reward, batch: dict, n: int):
        """One call on the whole batch, as TRL makes it."""
        value, outcome, detail = self._call(reward.fn, batch)
        if outcome == "ok":
            return check_output(name, value, n), [("ok", "")] * n
        return [self.timeout_value] * n, [(outcome, detail)] * n

    def _itemwise(self, name: str, reward: Reward, batch: dict, n: int):
        """Each completion on its own, under its own limit: the batch is cut into a few runs of
        consecutive completions per worker, each run sent as one request whose items answer one by
        one (a request per completion cost about 2 ms each in messages alone)."""
        items = [{k: (None if v is None else [v[i]]) for k, v in batch.items()} for i in range(n)]
        size = max(1, -(-n // (ITEM_RUNS_PER_WORKER * self.num_workers)))
        runs = [range(start, min(start + size, n)) for start in range(0, n, size)]
        results: list[tuple[str, Any, str]] = [("", None, "")] * n
        for future in [self._threads.submit(self._each, reward.fn, items, run, results) for run in runs]:
            future.result()
        scores, outcomes = [], []
        for value, outcome, detail in results:
            if outcome == "ok":
                value = check_output(f"{name} (item-wise, called on one completion)", value, 1)[0]
            scores.append(value if outcome == "ok" else self.timeout_value)
            outcomes.append((outcome, detail))
        return scores, outcomes

    def _each(self, fn: Callable, items: list[dict], run: range, results: list) -> None:
        """Score the completions of ``run`` into ``results``; after a time-out or a dead worker the
        rest of the run goes again to a (fresh) worker."""
        todo = list(run)
        while todo:
            worker = self._idle.get()
            try:
                worker.warm(getattr(fn, "preload", ()))
                answers = worker.call_each(fn, [items[i] for i in todo], timeout=self.timeout, name="the call")
            except BoundedCrash as err:  # the preloads failed
                answers = [("crash", str(err))]
            finally:
                self._idle.put(worker)
            for i, (status, value) in zip(todo, answers):
                if status == "ok":
                    self.stats["ok"] += 1
                    results[i] = (value, "ok", "")
                elif status == "timeout":
                    self.stats["timeouts"] += 1
                    self.stats["timeouts_machine"] += value.cause == "machine"
                    results[i] = (None, "timeout", str(value))
                else:  # "err" (the reward raised) or "crash" (the worker died)
                    self.stats["crashes"] += 1
                    results[i] = (None, "crash", value)
            todo = todo[len(answers):]

    def _account(self, name: str, outcomes: list[tuple[str, str]], n: int, log_metric) -> None:
        """Count, log and summarise one batch's failures; stop on a reward that fails throughout."""
        timeouts = sum(o == "timeout" for o, _ in outcomes)
        crashes = sum(o == "crash" for o, _ in outcomes)
        self.failed[name] += timeouts + crashes
        if callable(log_metric):
            log_metric(f"rewards/{name}/failed", float(timeouts + crashes))
            log_metric(f"runner/{name}/timeout", timeouts / n)
        if not timeouts + crashes:
            return
        first = next(detail for o, detail in outcomes if o != "ok")
        kinds = ", ".join(f"{k} {what}" for k, what in ((crashes, "raised or crashed"), (timeouts, "timed out")) if k)
        if crashes and crashes >= self.stop_share * n:
            raise RewardFailedError(
                f"reward {name!r} failed on {crashes} of {n} completions of this batch (first: {first}); the run "
                f"stops when a reward raises on a share of at least {self.stop_share:g} of a batch (reward_fail_stop). "
                f"Fix the reward (try it: grpo-ext rewards check {name} --completion '...'), or set --reward_fail_stop 2 to "
                f"score its failures {self.timeout_value!r} and go on")
        logger.warning("reward %r: %d of %d completions failed this batch (%s; first: %s); scored %r",
                       name, timeouts + crashes, n, kinds, first, self.timeout_value)

    def wrap(self, fn: Callable) -> Callable:
        """A reward callable with TRL's contract that evaluates ``fn`` through this pool."""
        return PooledReward(fn, self)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        while not self._idle.empty():
            self._idle.get().close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PooledReward:
    """``fn`` evaluated through a :class:`RewardRunner`; keeps ``fn``'s name for TRL's logs."""

    def __init__(self, fn: Callable, runner: RewardRunner):
        self.fn, self.runner = fn, runner
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, prompts=None, completions=(), completion_ids=None, **columns) -> list[float | None]:
        return self.runner.run(self.fn, prompts, completions, completion_ids, **columns)
