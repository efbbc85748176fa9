"""The bounded reward runner's cost per batch, beside TRL's plain in-process call, in one run.

    python bench/bench_runner.py [--batch 128] [--workers 2] [--repeats 5]

A batch like the offline default's (16 prompts x 8 completions of the arithmetic task, one in
three wrong) is scored by ``math_accuracy`` and ``answer_format``, three ways:

- ``in-process``: the reward function called on the batch in this process, as TRL calls a
  callable (no memory bound; ``math_accuracy`` still bounds each check in its own worker);
- ``one request per completion``: the runner sending every completion to a worker on its own
  (how item-wise rewards were dispatched before runs of completions);
- ``runs of completions``: the runner as it is, a few requests per worker, each answered item by
  item under each completion's own limit.

Each row: the median and the best of ``--repeats`` batches, after one warm-up batch; the scores of
every way are checked equal.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grpo_ext import rewards  # noqa: E402
from grpo_ext.rewards import runner as runner_module  # noqa: E402


def batch(n: int) -> tuple[list, list]:
    completions = [[{"role": "assistant", "content": f"<think>{i % 20} + {i % 7}</think><answer>"
                     f"{i % 20 + i % 7 + (i % 3 == 0)}</answer>"}] for i in range(n)]
    return completions, [str(i % 20 + i % 7) for i in range(n)]


def timed(call, repeats: int) -> tuple[list, list[float]]:
    out = call()  # warm-up: imports, caches, workers started
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        again = call()
        times.append(time.perf_counter() - start)
        assert again == out
    return out, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=128, help="completions per batch (default 128)")
    parser.add_argument("--workers", type=int, default=2, help="runner workers (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per row (default 5)")
    args = parser.parse_args()
    completions, answers = batch(args.batch)
    rows = []
    for name in ("math_accuracy", "answer_format"):
        fn = rewards.get(name)
        plain, t_plain = timed(lambda: fn(completions=completions, answer=answers), args.repeats)
        rows.append((name, "in-process, as TRL calls a callable", t_plain))
        for label, runs_per_worker in (("one request per completion", args.batch),
                                       ("runs of completions", runner_module.ITEM_RUNS_PER_WORKER)):
            saved, runner_module.ITEM_RUNS_PER_WORKER = runner_module.ITEM_RUNS_PER_WORKER, runs_per_worker
            try:
                with runner_module.RewardRunner(num_workers=args.workers, timeout=10.0) as pool:
                    out, t = timed(lambda: pool.run(fn, completions=completions, answer=answers), args.repeats)
            finally:
                runner_module.ITEM_RUNS_PER_WORKER = saved
            assert out == plain, f"{name}: {label} scored differently from the in-process call"
            rows.append((name, f"runner, {label}", t))
    print(f"batch of {args.batch} completions, {args.workers} workers, {args.repeats} timed batches per row")
    print("| reward | way | median ms | best ms | ms per completion |")
    print("|---|---|---|---|---|")
    for name, label, t in rows:
        median = statistics.median(t)
        print(f"| {name} | {label} | {median * 1e3:.0f} | {min(t) * 1e3:.0f} | {median * 1e3 / args.batch:.2f} |")


if __name__ == "__main__":
    main()
