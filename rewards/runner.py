"""Evaluate rewards over a batch in a pool of worker processes, each item under a hard time limit.

A reward that hangs, crashes or eats memory on one completion costs that completion its score
(``timeout_value``, ``None`` by default) and nothing else: the worker is killed and replaced by a
warm spare, the rest of the batch goes on, and the event is counted in :attr:`RewardRunner.stats`
(``timeouts``, of which ``timeouts_machine`` ran into the wall-clock ceiling of a busy machine
rather than their own time limit; ``crashes``) and logged. The limit counts the worker's own time,
not its waits for a CPU (see ``rewards._bounded``). A reward with a ``preload`` attribute (module
names, as ``math_accuracy`` has) gets them imported by every worker before any clock starts.
Results come back in input order.

    runner = RewardRunner(num_workers=4, timeout=5.0)
    scores = runner.run(rewards.get("math_accuracy"), prompts=..., completions=..., answer=...)
    reward_fn = runner.wrap(rewards.get("math_accuracy"))  # a TRL-style reward using the pool

Rewards and their columns are shipped to the workers with cloudpickle. Trainer objects that TRL
passes (``trainer_state``, ``log_extra``, ``log_metric``, ``environments``) stay in the parent:
a reward that needs them cannot run in the pool. With TRL's ``log_metric``, the runner itself logs
the share of each batch that timed out as ``runner/<reward>/timeout`` (inside the pool, a
reward's own ``math/timeout`` is not logged: the runner's limit is the one that applies).
"""

from __future__ import annotations

import logging
import queue
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._bounded import DEFAULT_MEMORY_BYTES, BoundedCrash, BoundedTimeout, BoundedWorker
from .registry import TRAINER_ARGS, Reward, check_output

logger = logging.getLogger(__name__)


def _score_one(fn: Callable, kwargs: dict[str, Any]) -> float | None:
    """Runs in a worker: the reward on a batch of one."""
    return fn(**kwargs)[0]


class RewardRunner:
    """A pool of ``num_workers`` bounded worker processes (started on first use)."""

    def __init__(self, num_workers: int = 2, timeout: float = 10.0, timeout_value: float | None = None,
                 memory_bytes: int | None = DEFAULT_MEMORY_BYTES):
        if num_workers < 1:
            raise ValueError(f"RewardRunner needs num_workers >= 1, got {num_workers}")
        if timeout <= 0:
            raise ValueError(f"RewardRunner needs a positive timeout in seconds, got {timeout}")
        self.num_workers, self.timeout, self.timeout_value = num_workers, timeout, timeout_value
        self._idle: queue.Queue[BoundedWorker] = queue.Queue()
        for _ in range(num_workers):
            self._idle.put(BoundedWorker(memory_bytes))
        self._threads = ThreadPoolExecutor(num_workers, thread_name_prefix="reward-runner")
        self.stats: Counter[str] = Counter()

    def _call(self, name: str, fn: Callable, kwargs: dict, index: int) -> tuple[float | None, str]:
        """(score, outcome): outcome is "ok", "timeout" or "crash"."""
        worker = self._idle.get()
        try:
            worker.warm(getattr(fn, "preload", ()))
            value = worker.call(_score_one, (fn, kwargs), timeout=self.timeout)
            self.stats["ok"] += 1
            return value, "ok"
        except BoundedTimeout as err:
            self.stats["timeouts"] += 1
            self.stats["timeouts_machine"] += err.cause == "machine"
            logger.warning("reward %r timed out on item %d (%s); scored %r", name, index, err, self.timeout_value)
            return self.timeout_value, "timeout"
        except BoundedCrash as err:
            self.stats["crashes"] += 1
            logger.warning("reward %r failed on item %d (%s); scored %r", name, index, err, self.timeout_value)
            return self.timeout_value, "crash"
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
        items = [{k: (None if v is None else [v[i]]) for k, v in batch.items()} for i in range(n)]
        fn = fn.fn  # columns are already selected
        futures = [self._threads.submit(self._call, name, fn, item, i) for i, item in enumerate(items)]
        results = [f.result() for f in futures]
        if callable(log_metric) and n:
            log_metric(f"runner/{name}/timeout", sum(o == "timeout" for _, o in results) / n)
        return check_output(name, [v for v, _ in results], n)

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
