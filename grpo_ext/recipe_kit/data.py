"""Math datasets for the recipes: load by Hub name or from local files, and normalise to two
columns, ``prompt`` (text, or messages when a system prompt is given) and ``answer`` (the gold
final answer, as text).

Recognised layouts, checked in this order:

| layout | columns | gold answer |
|---|---|---|
| GSM8K | ``question``, ``answer`` ending in ``#### 72`` | the part after ``####`` |
| MATH / NuminaMath | ``problem``, ``solution`` with ``\\boxed{}`` (an ``answer`` column wins if present) | the last ``\\boxed{}`` |
| plain | ``question`` / ``problem`` / ``prompt`` and ``answer`` | the ``answer`` column |
| conversational | ``prompt`` as a list of messages, and ``answer`` | the ``answer`` column |

A dataset that fits none of them is an error before training starts, naming its columns.

A recipe's train and test rows (:func:`load_splits`): the user's ``--prompt_column`` /
``--answer_column`` / ``--tests_column`` renamed to the names above (:func:`map_columns`), and,
without a separate test split, ``eval_size`` rows held out of training (:func:`hold_out`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence

from datasets import Dataset, load_dataset

from grpo_ext.recipe_kit import recipe_inputs
from grpo_ext.rewards.math import gold_answer

PROMPT_COLUMNS = ("question", "problem", "prompt", "description")
_LOCAL_TYPES = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet", ".txt": "text"}


class DatasetFormatError(ValueError):
    pass


def load(name: str, config: str | None = None, split: str = "train") -> Dataset:
    """A split from a local file (json, jsonl, csv, parquet), a local folder, or the Hub."""
    if os.path.isfile(name):
        ext = os.path.splitext(name)[1].lower()
        if ext not in _LOCAL_TYPES:
            raise DatasetFormatError(f"cannot read {name!r}: use one of {sorted(_LOCAL_TYPES)}")
        return load_dataset(_LOCAL_TYPES[ext], data_files={split: name}, split=split)
    return load_dataset(name, config, split=split)


def _prompt_column(columns: Sequence[str]) -> str | None:
    return next((c for c in PROMPT_COLUMNS if c in columns), None)


def detect_layout(columns: Sequence[str], first: dict) -> str:
    if "question" in columns and "answer" in columns and "####" in str(first["answer"]):
        return "gsm8k"
    if "problem" in columns and "solution" in columns and "answer" not in columns:
        return "math"
    if "prompt" in columns and isinstance(first["prompt"], list) and "answer" in columns:
        return "conversational"
    if _prompt_column(columns) and "answer" in columns:
        return "plain"
    raise DatasetFormatError(
        f"the dataset has columns {list(columns)}, but a math recipe needs a prompt column (one of "
        f"{', '.join(PROMPT_COLUMNS)}) and a gold answer: 'answer' (plain, or GSM8K's '... #### 72'), or "
        "'solution' with \\boxed{} (MATH). Rename the columns (dataset.rename_column) or preprocess the data."
    )


def normalise(data: Dataset, system_prompt: str | None = None, instruction: str | None = None) -> Dataset:
    """Columns ``prompt`` and ``answer`` (others kept); ``instruction`` is appended to text prompts."""
    if len(data) == 0:
        raise DatasetFormatError("the dataset is empty")
    layout = detect_layout(data.column_names, data[0])
    source = _prompt_column(data.column_names)

    def convert(row):
        if layout == "conversational":
            prompt = list(row["prompt"])
        else:
            text = str(row[source]).strip() + (f"\n{instruction}" if instruction else "")
            prompt = [{"role": "user", "content": text}] if system_prompt else text
        if system_prompt and (not prompt or prompt[0].get("role") != "system"):
            prompt = [{"role": "system", "content": system_prompt}, *prompt]
        gold = row["solution"] if layout == "math" else row["answer"]
        answer = gold_answer(str(gold)) if layout in ("gsm8k", "math") else str(gold).strip()
        if not answer:
            raise DatasetFormatError(f"row {row} has an empty gold answer")
        return {"_prompt": prompt, "_answer": answer}

    # new names first: datasets keeps a replaced column's old type (an int answer would stay int)
    drop = [c for c in data.column_names if c in (source, "prompt", "answer")]
    out = data.map(convert, remove_columns=drop, desc="formatting prompts")
    return out.rename_columns({"_prompt": "prompt", "_answer": "answer"})


def require_columns(data: Dataset, columns: Sequence[str], needed_by: str) -> None:
    missing = [c for c in columns if c not in data.column_names]
    if missing:
        raise DatasetFormatError(f"{needed_by} needs the dataset columns {missing}; it has {data.column_names}")


def normalise_code(data: Dataset, system_prompt: str | None = None, instruction: str | None = None,
                   language: str = "python") -> Dataset:
    """Columns ``prompt`` and ``verification_info``, converted once from the dataset's layout
    (``verification_info``, APPS/TACO ``input_output``, ``test_cases`` or ``tests``, CodeContests,
    open-r1's Codeforces and IOI rows; see rewards/code/judge_datasets.py); rows that do not name
    their language are in ``language``; rows that cannot be judged are reported and left out."""
    from grpo_ext.rewards.code.judge_datasets import LAYOUTS, convert_dataset
    from grpo_ext.rewards.code.rows import RowFormatError

    source = _prompt_column(data.column_names)
    if source is None or not any(c in data.column_names for c in LAYOUTS):
        raise DatasetFormatError(
            f"the dataset has columns {data.column_names}, but the code recipe needs a prompt column (one of "
            f"{', '.join(PROMPT_COLUMNS)}) and tests in one of the columns {', '.join(LAYOUTS)} "
            "(see rewards/code/rows.py)"
        )
    try:
        data = convert_dataset(data, language)  # rows that cannot be judged are left out and reported here
    except RowFormatError as err:
        raise DatasetFormatError(str(err)) from None

    def convert(row):
        text = str(row[source]).strip() + (f"\n{instruction}" if instruction else "")
        prompt = [{"role": "system", "content": system_prompt}, {"role": "user", "content": text}] if system_prompt else text
        return {"_prompt": prompt}

    out = data.map(convert, remove_columns=[c for c in data.column_names if c in (source, "prompt")],
                   desc="formatting prompts")
    return out.rename_column("_prompt", "prompt")


# -- a recipe's train and test rows: the user's column names, and rows held out of training ---------


def load_splits(script, seed: int, task: str):
    """(train, test), normalised; the test rows held out of training when there is no separate
    test split (one local file, or the test split is the training split)."""
    name = script.dataset_name
    recipe_inputs.check_local_file(name)
    test_file = os.path.isfile(script.dataset_test_split)
    if test_file:
        recipe_inputs.check_local_file(script.dataset_test_split)
    train = _normalised(name, script.dataset_config, script.dataset_train_split, script, task)
    if not test_file and (os.path.isfile(name) or script.dataset_test_split == script.dataset_train_split):
        return hold_out(train, script, seed)
    source = script.dataset_test_split if test_file else name
    test = _normalised(source, script.dataset_config, "test" if test_file else script.dataset_test_split, script, task)
    if script.eval_size and len(test) > script.eval_size:
        test = test.select(range(script.eval_size))
    script.eval_rows = list(range(len(test)))
    script.eval_source = f"the first {len(test)} rows of {source} (split {script.dataset_test_split})"
    return train, test


def _normalised(name: str, config: str | None, split: str, script, task: str):
    raw = load(name, config, split)
    if len(raw) == 0:
        raise recipe_inputs.InputError(f"--dataset_name {name} (split {split}) has no rows: give a dataset with "
                                       "problems in it")
    raw = map_columns(raw, script, task)
    if task == "math":
        return normalise(raw, script.system_prompt, script.instruction)
    return normalise_code(raw, script.system_prompt, script.instruction, script.code_language)


def map_columns(raw, script, task: str):
    """Rename the user's ``--prompt_column``/``--answer_column``/``--tests_column`` to the names the
    layouts read (a column already holding that name is dropped for it)."""
    wanted = {"--prompt_column": (script.prompt_column, "prompt")}
    if task == "math":
        wanted["--answer_column"] = (script.answer_column, "answer")
    else:
        wanted["--tests_column"] = (script.tests_column, script.tests_layout)
    if script.tests_layout not in _layouts():
        raise recipe_inputs.InputError(f"--tests_layout {script.tests_layout}: not a layout; use one of "
                                       f"{', '.join(_layouts())}")
    for option, (column, target) in wanted.items():
        if column is None or column == target:
            continue
        if column not in raw.column_names:
            raise recipe_inputs.InputError(f"{option} {column}: the dataset has no such column; it has "
                                           f"{raw.column_names}")
        taken = [c for c in raw.column_names if c == target or (target == "prompt" and c in PROMPT_COLUMNS)]
        raw = raw.remove_columns([c for c in taken if c != column]).rename_column(column, target)
        if target == "answer" and "solution" in raw.column_names:
            raw = raw.remove_columns("solution")  # the named column is the gold answer, whatever the layout
    return raw


def _layouts() -> tuple[str, ...]:
    from grpo_ext.rewards.code.judge_datasets import LAYOUTS

    return LAYOUTS


def hold_out(train, script, seed: int):
    """Hold ``eval_size`` rows (at most a fifth, at least one) out of training, chosen by ``seed``."""
    if len(train) < 2:
        raise recipe_inputs.InputError(f"--dataset_name {script.dataset_name} has {len(train)} row: evaluation needs "
                                       "rows held out of training; give more rows or a separate --dataset_test_split "
                                       "(a split or a file)")
    if not script.eval_size:
        raise recipe_inputs.InputError("--eval_size 0 (every test row) needs a separate test split; this run holds "
                                       "test rows out of the training data: set --eval_size N or --dataset_test_split "
                                       "(a split or a file)")
    n = max(1, min(script.eval_size, len(train) // 5))
    rows = sorted(random.Random(seed).sample(range(len(train)), n))
    held = set(rows)
    script.eval_rows = rows
    capped = f", --eval_size {script.eval_size} capped at a fifth" if n < script.eval_size else ""
    script.eval_source = (f"{n} rows of {script.dataset_name} held out of training{capped} "
                          f"(rows {_ranges(rows)}, counted from 0; metrics.json lists them)")
    return train.select([i for i in range(len(train)) if i not in held]), train.select(rows)


def _ranges(rows: list[int], shown: int = 8) -> str:
    text = ", ".join(map(str, rows[:shown]))
    return text + (f", ... ({len(rows)} in all)" if len(rows) > shown else "")
