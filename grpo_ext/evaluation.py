"""Task evaluation of a trainer's model: greedy and k sampled completions of every problem,
scored by task metrics that need not be the training rewards, summarised as greedy / avg@k /
pass@k / maj@k with intervals (the formulas are in :mod:`grpo_ext.metrics`).

Generation goes through the trainer's own ``_generate`` (TRL's generation and tool loop), so a
tool recipe's rollouts call tools as in training and ZeRO-3 gathers as in training; all k samples
of a batch of prompts are one call. Registry rewards are scored through the trainer's bounded
:class:`~grpo_ext.rewards.runner.RewardRunner`. The sampling runs under a forked, seeded random
state, so evaluating leaves the training's random streams (and so its trajectory) untouched.
With several processes (DDP, DeepSpeed) each one evaluates its share of the batches and the
records are gathered: each problem is evaluated once and every process gets the same numbers.

A sample is correct when its metric scores 1.0; a ``None`` score (a fault of the row or the
checker) counts as not correct and is counted in ``unscored``.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence

import torch

from grpo_ext import metrics as m


def completion_text(completion) -> str:
    """A completion's text: itself, or the content of its last assistant message."""
    if isinstance(completion, str):
        return completion
    return next((str(msg.get("content") or "") for msg in reversed(completion) if msg.get("role") == "assistant"), "")


def extract(completion) -> str | None:
    """The final answer of a completion, as the math checker extracts it."""
    from grpo_ext.rewards.math import extract_answer

    return extract_answer(completion_text(completion))


def math_same(a: str, b: str) -> bool:
    """Whether two extracted answers are one vote: equal text, or equivalent to the math checker
    (bounded, as in training)."""
    from grpo_ext.rewards.math import verify

    return a.strip() == b.strip() or verify(f"<answer>{a}</answer>", b)


def bounded(trainer, fn: Callable) -> Callable:
    """``fn`` through the trainer's RewardRunner when it is a registry reward that does not bound
    itself (code execution does); other callables as they are."""
    from grpo_ext.rewards.registry import Reward
    from grpo_ext.rewards.runner import PooledReward, RewardRunner

    if not isinstance(fn, Reward) or getattr(fn.fn, "bounds_itself", False) or isinstance(fn, PooledReward):
        return fn
    if trainer.reward_runner is None:
        args = trainer.args
        trainer.reward_runner = RewardRunner(args.reward_num_workers, args.reward_timeout, args.reward_timeout_value)
    return trainer.reward_runner.wrap(fn)


_SAMPLING_FLAGS = ("top_k", "top_p", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff")


@contextlib.contextmanager
def without_sampling_flags(gen):
    """Greedy decoding takes no sampling flags (top_k, top_p, ...; transformers warns that they are
    ignored): clear the ones set on ``gen`` for the block, and put them back afterwards."""
    saved = {f: getattr(gen, f) for f in _SAMPLING_FLAGS if getattr(gen, f, None) is not None}
    for flag in saved:
        setattr(gen, flag, None)
    try:
        yield
    finally:
        for flag, value in saved.items():
            setattr(gen, flag, value)


@contextlib.contextmanager
def _isolated(trainer, seed: int, do_sample: bool, temperature: float):
    """Eval mode, the generation settings asked for, and a forked random state seeded with
    ``seed``; everything restored afterwards."""
    gen = trainer.generation_config
    saved = (gen.do_sample, gen.temperature, trainer.model.training, random.getstate())
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        random.seed(seed)
        gen.do_sample, gen.temperature = do_sample, temperature
        trainer.model.eval()
        try:
            with contextlib.nullcontext() if do_sample else without_sampling_flags(gen):
                yield
        finally:
            gen.do_sample, gen.temperature = saved[0], saved[1]
            trainer.model.train(saved[2])
            random.setstate(saved[3])
            trainer._metrics["eval"].clear()  # noqa: SLF001 - TRL's _generate logged this pass as an eval batch


def _rollouts(trainer, rows: list[dict], k: int) -> tuple[list, list, list]:
    """(prompts, completions, completion_ids) of ``k`` rollouts of each row, row-major, in one call."""
    repeated = [row for row in rows for _ in range(k)]
    if getattr(trainer, "environment_factories", None) is not None or getattr(trainer, "tools", None):
        from grpo_ext.tools import _bind_tools

        prompts = _bind_tools(trainer, repeated)
    else:
        prompts = [row["prompt"] for row in repeated]
    with torch.no_grad():
        out = trainer._generate(prompts)  # noqa: SLF001 - TRL's generation and tool loop
    return prompts, out[3], out[1]


def _score(metrics: dict, prompts, completions, ids, rows: list[dict], k: int) -> dict[str, list[float | None]]:
    columns = {c: [row[c] for row in rows for _ in range(k)] for c in rows[0] if c != "prompt"}
    return {name: list(fn(prompts=prompts, completions=completions, completion_ids=ids, **columns))
            for name, fn in metrics.items()}


def _shard(n: int, batch_size: int, world: int, rank: int) -> tuple[list[int], int]:
    """(the batch starts this process evaluates, rounds every process runs): batch ``b`` of
    ``range(0, n, batch_size)`` goes to process ``b % world``, so a batch is the same rows, with the
    same seed, whatever the number of processes."""
    starts = list(range(0, n, batch_size))
    return starts[rank::world], -(-len(starts) // world)


def generate_and_score(trainer, dataset, metrics: dict, k: int, temperature: float, batch_size: int = 64,
                       seed: int = 0, same: Callable[[str, str], bool] = math_same) -> list[dict]:
    """One record per problem (see :func:`problem_record`), greedy and ``k`` samples each.

    With several processes each one evaluates its own batches (:func:`_shard`) and the records are
    gathered, so every process gets all of them and each problem is evaluated once. Every process
    makes the same number of generation calls of the same size (TRL's ``_generate`` gathers, and
    ZeRO-3 gathers parameters): a short last batch is padded with copies of its first row, and a
    process without a batch in a round generates a padding batch; padding is neither scored nor kept."""
    acc = trainer.accelerator
    world = acc.num_processes
    mine, rounds = _shard(len(dataset), batch_size, world, acc.process_index)
    records = []
    for r in range(rounds):
        start = mine[r] if r < len(mine) else 0
        real = len(range(start, min(start + batch_size, len(dataset)))) if r < len(mine) else 0
        rows = [dataset[i] for i in range(start, start + max(real, 1))]
        if world > 1:
            rows += [rows[0]] * (min(batch_size, len(dataset)) - len(rows))
        records += _batch_records(trainer, rows, real, start, metrics, k, temperature, seed, same)
    if world > 1:
        from accelerate.utils import gather_object

        records = sorted(gather_object(records), key=lambda rec: rec["index"])
    return records


def _batch_records(trainer, rows, real, start, metrics, k, temperature, seed, same) -> list[dict]:
    """Greedy and ``k`` sampled rollouts of ``rows`` (one call each); records of the first ``real``."""
    with _isolated(trainer, seed + start, do_sample=False, temperature=1.0):
        g_prompts, g_completions, g_ids = _rollouts(trainer, rows, 1)
    with _isolated(trainer, seed + start, do_sample=True, temperature=temperature):
        prompts, completions, ids = _rollouts(trainer, rows, k)
    rows, n = rows[:real], real * k
    greedy = _score(metrics, g_prompts[:real], g_completions[:real], g_ids[:real], rows, 1) if real else {}
    sampled = _score(metrics, prompts[:n], completions[:n], ids[:n], rows, k) if real else {}
    out = []
    for j, row in enumerate(rows):
        samples = completions[j * k:(j + 1) * k]
        out.append(problem_record(start + j, row, g_completions[j], {name: s[j] for name, s in greedy.items()},
                                  samples, {name: s[j * k:(j + 1) * k] for name, s in sampled.items()}, same))
    return out


def _hit(score) -> int:
    return int(score is not None and score == 1.0)


def problem_record(index: int, row: dict, greedy_completion, greedy: dict, samples: Sequence,
                   scores: dict[str, list], same: Callable[[str, str], bool]) -> dict:
    """What is kept of one problem: everything the figures are computed from (so a reader can
    recompute them), the vote groups of maj@k (by the first metric's verdicts), the end of each
    sample's final text and, for tool rollouts, each sample's number of tool calls."""
    answers = [extract(s) for s in samples]
    groups = m.vote_groups(answers, same)
    first = next(iter(scores))
    verdicts = {name: [_hit(s) for s in vals] for name, vals in scores.items()}
    return {
        "index": index, "gold": str(row.get("answer", "")),
        "greedy": {name: _hit(s) for name, s in greedy.items()}, "greedy_answer": extract(greedy_completion),
        "n": len(samples), "correct": {name: sum(v) for name, v in verdicts.items()}, "verdicts": verdicts,
        "unscored": {name: sum(s is None for s in vals) for name, vals in scores.items()},
        "answers": answers, "vote_groups": groups, "vote_metric": first,
        "maj": m.maj_at_k(answers, verdicts[first], lambda a, b: _in_group(groups, answers, a, b)),
        "sample": completion_text(samples[0]) if samples else "",
        "finals": [completion_text(c)[-FINAL_CHARS:] for c in samples], **_tool_calls(samples),
    }


FINAL_CHARS = 200  # of each sample's final text kept in the record (where the answer is)


def _tool_calls(samples: Sequence) -> dict:
    """Conversational samples (tool rollouts): the number of tool results in each."""
    if not samples or isinstance(samples[0], str):
        return {}
    return {"tool_calls": [sum(msg.get("role") == "tool" for msg in c) for c in samples]}


def _in_group(groups, answers, a, b) -> bool:
    """Equivalence as already decided by ``groups`` (no second round of checks)."""
    where = {answers[i]: gi for gi, g in enumerate(groups) for i in g}
    return where.get(a) == where.get(b)


def per_problem(records: list[dict], metric: str, ks: Sequence[int]) -> dict[str, list[float]]:
    """Per-problem scores of every figure of ``metric``: greedy, avg@k, pass@j for j in ``ks``,
    and maj@k for the vote metric."""
    k = records[0]["n"] if records else 1
    out = {"greedy": [float(r["greedy"][metric]) for r in records],
           f"avg@{k}": [r["correct"][metric] / r["n"] for r in records]}
    for j in ks:
        out[f"pass@{j}"] = [m.pass_at_k(r["n"], r["correct"][metric], j) for r in records]
    if records and records[0]["vote_metric"] == metric:
        out[f"maj@{k}"] = [r["maj"] for r in records]
    return out


def summarise(records: list[dict], ks: Sequence[int], level: float = 0.95) -> dict[str, dict[str, dict]]:
    """{metric: {figure: {"value", "low", "high", "n"}}}."""
    names = list(records[0]["correct"]) if records else []
    return {name: {fig: m.figure(scores, level) for fig, scores in per_problem(records, name, ks).items()}
            for name in names}


def compare(before: list[dict], after: list[dict], ks: Sequence[int]) -> dict[str, dict[str, float]]:
    """{metric: {figure: p-value}} of the paired test on the same problems."""
    names = list(before[0]["correct"]) if before else []
    out = {}
    for name in names:
        b, a = per_problem(before, name, ks), per_problem(after, name, ks)
        out[name] = {fig: m.paired_test(b[fig], a[fig]) for fig in b}
    return out


def evaluate(trainer, dataset, metrics: dict, k: int, temperature: float, batch_size: int = 64,
             seed: int = 0, level: float = 0.95, ks: Sequence[int] | None = None) -> dict:
    """Records, summary and cost of one evaluation of ``dataset`` (rows with a ``prompt``):
    ``k`` samples per problem, pass@j reported for j in ``ks`` (default 1, 2, 4, ... k)."""
    ks = list(ks or m.sample_ks(k))
    if max(ks) > k or min(ks) < 1:
        raise ValueError(f"pass@k needs 1 <= k <= {k} (the samples drawn per problem); got k values {ks}")
    metrics = {name: bounded(trainer, fn) for name, fn in metrics.items()}
    clock = time.perf_counter()
    records = generate_and_score(trainer, dataset, metrics, k, temperature, batch_size, seed)
    seconds = time.perf_counter() - clock
    return {"k": k, "ks": ks, "temperature": temperature, "level": level, "seconds": seconds,
            "summary": summarise(records, ks, level), "problems": records}


def resolve_metrics(trainer, names: Sequence[str] | None) -> dict[str, Callable] | None:
    """``eval_metrics`` names to callables, once, when the trainer is built (an unknown name raises
    the registry's error, listing the valid ones). They are kept apart from the training rewards."""
    from grpo_ext import rewards
    from grpo_ext.rewards.registry import reward_model_id

    if not names:
        return None
    out = {}
    for name in names:
        if reward_model_id(name) is not None:
            raise ValueError(f"eval_metrics: {name!r} is a reward model; eval_metrics takes registry rewards or "
                             f"'module:function' metrics (e.g. math_accuracy). Valid names: {sorted(rewards.available())}")
        out[name] = bounded(trainer, rewards.resolve(name))
    return out


def during_training(trainer, dataset) -> dict:
    """The evaluation ``eval_strategy`` asks for: every figure logged under ``eval/`` to every
    logger (through transformers' ``Trainer.log``), with its cost: ``eval/seconds`` (this
    evaluation), ``eval/seconds_total`` and ``eval/share_of_time`` (of the wall time since
    training started)."""
    import transformers

    args = trainer.args
    last = trainer.eval_history[-1] if trainer.eval_history else None
    if last is not None and last["step"] == trainer.state.global_step and last["problems_of"] is dataset:
        return last["logs"]  # transformers asks again at the end of the last epoch: the same weights
    temperature = args.eval_temperature or args.temperature
    result = evaluate(trainer, dataset, trainer.eval_metric_funcs, args.eval_num_samples, temperature,
                      args.eval_prompts_per_call, args.seed)
    trainer.eval_seconds += result["seconds"]
    logs = {f"eval/{name}/{fig}": round(v["value"], 6) for name, figs in result["summary"].items() for fig, v in figs.items()}
    elapsed = time.perf_counter() - trainer.train_started if trainer.train_started else 0.0
    logs.update({"eval/seconds": round(result["seconds"], 3), "eval/seconds_total": round(trainer.eval_seconds, 3),
                 "eval/share_of_time": round(trainer.eval_seconds / elapsed, 4) if elapsed else 0.0,
                 "eval/problems": len(dataset)})
    transformers.Trainer.log(trainer, dict(logs))  # TRL's log would fold (and clear) the training metrics in
    trainer.eval_history.append({"step": trainer.state.global_step, "logs": logs, "problems_of": dataset, **result})
    return logs
