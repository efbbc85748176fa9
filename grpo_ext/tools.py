"""Tools for multi-turn training with TRL's own interfaces: ``GRPOTrainer(..., tools=[...])`` and
``GRPOTrainer(..., environment_factory=...)`` (trl 1.16) work unchanged with every grpo-ext setting.

TRL runs the tools in the trainer's process, between generation turns, and marks the tokens of a
tool's result with ``tool_mask = 0``; grpo-ext multiplies that mask into every mask it builds
(advantages, KL in the loss or the reward, GAE and returns, the value loss, dynamic sampling), so
tool-result tokens are never trained on, carry no KL and are transparent holes in GAE.

This module adds:

- a registry of ready tools: ``tools.get("python")`` is a Python interpreter that runs the model's
  code in the code reward's sandbox (:mod:`rewards.code.sandbox`: no network, no host files, bounded in
  time, memory, processes and output), never in the trainer's process;
- the tool-call format of the built-in tiny model (:func:`add_tiny_tool_format`): a chat template
  that renders tool calls and tool results, and the ``response_template`` TRL parses calls with;
- :func:`tool_stats` and :func:`evaluate`: held-out accuracy, tool-call rate and malformed-call rate
  of greedy multi-turn rollouts made by TRL's own generation and tool loop.

Tools written by a user are plain Python functions (typed, with a Google-style docstring, as TRL
needs for their schema); they run in the user's process exactly as TRL runs them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from grpo_ext._registry import Registry, first_line

# -- the registry of ready tools -----------------------------------------------------------------


class _Entry:
    def __init__(self, factory: Callable[..., Callable]):
        self.factory = factory
        self.doc = first_line(factory.__doc__)


REGISTRY: Registry[_Entry] = Registry("tool")


def register(name: str):
    """Register a tool factory under ``name``: ``factory(**options)`` returns the tool function."""

    def deco(factory):
        REGISTRY.add(name, _Entry(factory))
        return factory

    return deco


def get(name: str, **options) -> Callable:
    """The ready tool ``name`` built with ``options`` (e.g. ``get("python", wall_seconds=2)``)."""
    return REGISTRY.get(name).factory(**options)


def available() -> dict[str, str]:
    return REGISTRY.docs()


def resolve(specs) -> list[Callable]:
    """Tools given by name (registry) or as callables, resolved once at the edge."""
    out = []
    for spec in specs or []:
        if callable(spec):
            out.append(spec)
        elif isinstance(spec, str):
            out.append(get(spec))
        else:
            raise TypeError(f"a tool must be a registered name ({', '.join(REGISTRY.items)}) or a function, "
                            f"got {type(spec).__name__}: {spec!r}")
    return out


# -- the Python interpreter tool -----------------------------------------------------------------


@register("python")
def python_tool(wall_seconds: float = 5.0, memory_bytes: int = 512 << 20, output_chars: int = 2000,
                isolation: str = "namespaces", python_executable: str | None = None) -> Callable[[str], str]:
    """Run Python code written by the model in the code sandbox; returns its stdout (and errors)."""
    from grpo_ext.rewards.code import sandbox

    if wall_seconds <= 0 or memory_bytes <= 0 or output_chars <= 0:
        raise ValueError(f"python tool: wall_seconds, memory_bytes and output_chars must be > 0; got "
                         f"{wall_seconds}, {memory_bytes}, {output_chars}")
    if isolation not in ("namespaces", "process"):
        raise ValueError(f"python tool: isolation must be 'namespaces' or 'process', got {isolation!r}")
    # The wall clock ends a run; the CPU limit, a second above it, is only a backstop (equal limits race,
    # and a CPU-limit kill would read as a crash instead of a time-out).
    limits = sandbox.Limits(wall_seconds=wall_seconds, cpu_seconds=int(wall_seconds + 0.999) + 1,
                            memory_bytes=memory_bytes, total_memory_bytes=memory_bytes,
                            output_bytes=4 * output_chars)

    def python(code: str) -> str:
        """Run a Python program and return what it prints.

        Args:
            code: The Python source to run; use print() to show results.
        """
        executable = python_executable or sandbox.default_python()
        result = sandbox.run({"main.py": str(code)}, [executable, "-I", "main.py"], limits=limits,
                             isolation=isolation, read_only=sandbox.interpreter_paths(executable))
        return _report(result, wall_seconds, output_chars)

    return python


def _report(result, wall_seconds: float, output_chars: int) -> str:
    """What the model reads back: stdout, then the error tail, bounded to ``output_chars``."""
    text = result.stdout
    if result.timed_out:
        text += f"\n[timed out after {wall_seconds:g} s]"
    elif result.exceeded:
        text += f"\n[killed: {result.exceeded} limit exceeded]"
    elif result.returncode != 0:
        text += "\n" + result.stderr.strip()[-output_chars // 2:] + f"\n[exit status {result.returncode}]"
    if len(text) > output_chars or result.truncated:
        text = text[:output_chars] + "\n[output truncated]"
    return text.strip()


# -- the tiny model's tool-call format -----------------------------------------------------------

TOOL_FORMAT_TOKENS = ("<user>", "<assistant>", "<tool>", "<tool_call>", "</tool_call>")
# turns: <user>..\n, <assistant>..<eos>\n, <tool>..\n
# a call: <tool_call>NAME\nkey=value..</tool_call> (one line per argument)
TINY_TOOL_TEMPLATE = (
    "{%- if tools %}tools:{% for t in tools %} {{ t.function.name }}{% endfor %}"
    "{{ '\\n' }}{% endif %}"
    "{%- for m in messages %}"
    "{%- if m.role == 'assistant' %}<assistant>{{ m.content }}"
    "{%- for tc in m.tool_calls or [] %}<tool_call>{{ tc.function.name }}"
    "{%- for k, v in tc.function.arguments.items() %}{{ '\\n' }}{{ k }}={{ v }}{% endfor %}</tool_call>{% endfor %}"
    "<eos>{{ '\\n' }}"
    "{%- else %}<{{ m.role }}>{{ m.content }}{{ '\\n' }}{% endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}<assistant>{% endif %}"
)
TINY_RESPONSE_TEMPLATE = {
    "defaults": {"role": "assistant"},
    "start_anchor": "<assistant>",
    "fields": {
        "tool_calls": {
            "open_pattern": r"<tool_call>(?P<name>[A-Za-z_][A-Za-z0-9_]*)", "close_pattern": r"</tool_call>",
            "repeats": True, "content": "kv-lines", "content_args": {"kv_sep": "="},
            "transform": {"type": "function", "function": {"name": "{name}", "arguments": "{content}"}},
        },
        "content": {"close_pattern": r"<eos>\s*", "content": "text"},
    },
}


def add_tiny_tool_format(tokenizer):
    """Give a tokenizer of :mod:`grpo_ext.recipe_kit.tiny` (built with ``TOOL_FORMAT_TOKENS``) a chat template
    that renders tool calls and results, and the response template TRL parses calls with."""
    missing = [t for t in TOOL_FORMAT_TOKENS if t not in tokenizer.get_vocab()]
    if missing:
        raise ValueError(f"the tokenizer lacks the tool-format tokens {missing}; build it with "
                         "build_tiny_model(..., extra_tokens=grpo_ext.tools.TOOL_FORMAT_TOKENS)")
    tokenizer.chat_template = TINY_TOOL_TEMPLATE
    tokenizer.response_template = TINY_RESPONSE_TEMPLATE
    return tokenizer


# -- measuring multi-turn rollouts ---------------------------------------------------------------


def tool_stats(completion: list[dict]) -> tuple[bool, bool]:
    """(called a tool, a call was malformed) for one conversational completion as TRL builds it:
    a call is malformed when TRL could not run it (unknown tool, bad arguments, the tool raised:
    TRL then returns ``{'error': ...}``) or when call markup was left unparsed in the text."""
    results = [m for m in completion if m.get("role") == "tool"]
    failed = any(str(m.get("content", "")).startswith("{'error'") for m in results)
    unparsed = any("<tool_call>" in str(m.get("content", "")) for m in completion if m.get("role") == "assistant")
    return bool(results), failed or unparsed


def evaluate(trainer, test, metrics: dict[str, Callable], batch_size: int = 64) -> dict:
    """Greedy multi-turn rollouts of ``test`` (conversational prompts) through the trainer's own
    generation and tool loop (TRL's ``_generate``), so evaluation calls tools (``tools=[...]`` and
    ``environment_factory``) exactly as training does. Returns each metric's share of completions
    scoring 1.0, ``tool_call_rate`` (completions that called a tool), ``malformed_call_rate``
    (completions with a malformed call, see :func:`tool_stats`), ``n`` and a few sample conversations."""
    import torch

    from grpo_ext.evaluation import without_sampling_flags

    hits = dict.fromkeys(metrics, 0)
    called = malformed = 0
    samples: list = []
    generation = trainer.generation_config
    do_sample, was_training = generation.do_sample, trainer.model.training
    generation.do_sample = False
    trainer.model.eval()
    try:
        for start in range(0, len(test), batch_size):
            rows = test.select(range(start, min(start + batch_size, len(test))))
            prompts = _bind_tools(trainer, rows)
            with torch.no_grad(), without_sampling_flags(generation):
                completions = trainer._generate(prompts)[3]  # noqa: SLF001 - TRL's generation + tool loop
            columns = {c: rows[c] for c in rows.column_names if c != "prompt"}
            for name, reward in metrics.items():
                scores = reward(prompts=prompts, completions=completions, completion_ids=None, **columns)
                hits[name] += sum(score == 1.0 for score in scores)
            for completion in completions:
                did_call, bad = tool_stats(completion)
                called, malformed = called + did_call, malformed + bad
            samples += completions[: max(0, 3 - len(samples))]
    finally:
        generation.do_sample = do_sample
        trainer.model.train(was_training)
        trainer._metrics["eval"].clear()  # noqa: SLF001 - _generate logged this pass as an eval batch
    n = max(len(test), 1)
    return {**{name: count / n for name, count in hits.items()}, "tool_call_rate": called / n,
            "malformed_call_rate": malformed / n, "n": len(test), "samples": samples}


def _bind_tools(trainer, rows) -> list:
    """What TRL's ``_generate_and_score_completions`` sets up before its tool loop: each rollout's
    environment (fresh instances, reset with the row; the training pool is left alone) and tool
    tables. Returns the prompts, with an environment's first observation appended as TRL does."""
    prompts, envs, names = [], [], []
    standalone = list(trainer._standalone_tools)  # noqa: SLF001
    trainer._sync_tool_dicts, trainer._async_tool_dicts = [], []  # noqa: SLF001
    for row in rows:
        prompt, methods = row["prompt"], []
        if trainer.environment_factories is not None:
            name = row.get("environment") if trainer._multi_environment else None  # noqa: SLF001
            env = trainer.environment_factories[name]()
            control = ("environment",) if trainer._multi_environment else ()  # noqa: SLF001
            observation = env.reset(**{k: v for k, v in row.items() if k not in control})
            if isinstance(observation, str):
                prompt = prompt[:-1] + [{**prompt[-1], "content": prompt[-1]["content"] + observation}]
            methods = [getattr(env, m) for m, _ in inspect.getmembers(type(env), predicate=inspect.isfunction)
                       if m not in ("reset", "get_reward") and not m.startswith("_")]
            envs.append(env)
            names.append(name)
        tools = standalone + methods
        is_async = inspect.iscoroutinefunction
        trainer._sync_tool_dicts.append({t.__name__: t for t in tools if not is_async(t)})  # noqa: SLF001
        trainer._async_tool_dicts.append({t.__name__: t for t in tools if is_async(t)})  # noqa: SLF001
        prompts.append(prompt)
    if envs:
        trainer.environments, trainer._batch_environments = envs, names  # noqa: SLF001
    return prompts
