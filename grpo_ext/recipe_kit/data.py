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
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from datasets import Dataset, load_dataset

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
