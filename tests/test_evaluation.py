"""Task evaluation through the trainer: eval-only metrics leave training bit-identical, figures
logged under eval/, and ``grpo-ext eval`` on a saved tiny run, its JSON recomputed here."""

import json
import math
from itertools import combinations

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM

from grpo_ext import GRPOConfig, GRPOTrainer
from grpo_ext.recipe_kit import cli
from tiny_setup import addition_dataset, common_args, digit_reward, tiny_model_path


def has_digit(completions, **kwargs):
    """An eval metric a random tiny model scores both ways: 1.0 when the completion holds a digit."""
    return [float(any(ch.isdigit() for ch in c)) for c in completions]


def _train(tmp_path, **overrides):
    args = GRPOConfig(**common_args(str(tmp_path), max_steps=2, **overrides))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args,
                          train_dataset=addition_dataset(8), eval_dataset=addition_dataset(4))
    trainer.train()
    return trainer


def _train_losses(trainer):
    return [(h["step"], h["loss"], h["reward"]) for h in trainer.state.log_history if "loss" in h]


# the tests that read `runs` share one pytest-xdist worker, so the two trainings run once, not once per worker
SHARES_RUNS = pytest.mark.xdist_group("test_evaluation_runs")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same training without evaluation, and with an eval-only metric evaluated every step."""
    plain = _train(tmp_path_factory.mktemp("plain"))
    evaluated = _train(tmp_path_factory.mktemp("evaluated"), eval_strategy="steps", eval_steps=1,
                       eval_metrics=["test_evaluation:has_digit"], eval_num_samples=4, eval_prompts_per_call=2)
    out = tmp_path_factory.mktemp("saved")
    evaluated.save_model(str(out))
    yield plain, evaluated, out
    for trainer in (plain, evaluated):
        if trainer.reward_runner is not None:
            trainer.reward_runner.close()


@pytest.mark.slow
@SHARES_RUNS
def test_eval_only_metric_leaves_training_bit_identical(runs):
    plain, evaluated, _ = runs
    assert "test_evaluation:has_digit" not in evaluated.reward_func_names  # never a training reward
    assert _train_losses(plain) == _train_losses(evaluated)
    for (name, a), (_, b) in zip(plain.model.named_parameters(), evaluated.model.named_parameters(), strict=True):
        assert torch.equal(a, b), name
    initial = AutoModelForCausalLM.from_pretrained(tiny_model_path())
    assert any(not torch.equal(a, b) for a, b in zip(plain.model.parameters(), initial.parameters()))  # it trained


@pytest.mark.slow
@SHARES_RUNS
def test_figures_are_logged_under_eval_with_their_cost(runs):
    _, evaluated, _ = runs
    logged = [h for h in evaluated.state.log_history if "eval/seconds" in h]
    assert [h["step"] for h in logged][:2] == [1, 2]
    name = "test_evaluation:has_digit"
    for h, run in zip(logged, evaluated.eval_history):
        records = run["problems"]
        assert len(records) == 4 and all(r["n"] == 4 for r in records)
        # recompute from the records: avg@4 and pass@2 by enumeration of the 2-subsets
        verdicts = [r["verdicts"][name] for r in records]
        avg = sum(sum(v) / 4 for v in verdicts) / 4
        pass2 = sum(sum(any(v[i] for i in s) for s in combinations(range(4), 2)) / 6 for v in verdicts) / 4
        assert h[f"eval/{name}/avg@4"] == pytest.approx(avg, abs=1e-6)
        assert h[f"eval/{name}/pass@2"] == pytest.approx(pass2, abs=1e-6)
        assert h[f"eval/{name}/greedy"] == pytest.approx(sum(r["greedy"][name] for r in records) / 4, abs=1e-6)
        assert h["eval/seconds"] > 0 and 0 < h["eval/share_of_time"] < 1
    assert any(0 < h[f"eval/{name}/avg@4"] < 1 for h in logged), logged  # the metric is not trivially 0 or 1


def _recomputed(problems: list[dict], metric: str, k: int) -> float:
    """pass@k by enumerating every k-subset of each problem's verdicts (no shared code)."""
    total = 0.0
    for p in problems:
        v = p["verdicts"][metric]
        subsets = list(combinations(range(len(v)), k))
        total += sum(any(v[i] for i in s) for s in subsets) / len(subsets)
    return total / len(problems)


@pytest.mark.slow
@SHARES_RUNS
def test_grpo_ext_eval_on_a_saved_run(runs, tmp_path, capsys):
    _, _, saved = runs
    rows = [{"question": f"What is {i} plus {i % 3}?", "answer": f"{i} + {i % 3} = <<{i}+{i % 3}>>\n#### {i + i % 3}"}
            for i in range(6)]
    path = tmp_path / "gsm8k_style.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    code = cli.main(["eval", str(saved), "--dataset", str(path), "--metrics", "test_evaluation:has_digit,math_accuracy",
                     "--k", "1,2,4", "--max-completion-length", "6", "--output", str(out), "--batch", "4"])
    assert code == 0
    report = json.loads((out / "eval.json").read_text())
    problems = report["problems"]
    assert len(problems) == 6 and [p["gold"] for p in problems] == [str(i + i % 3) for i in range(6)]  # GSM8K's ####
    name = "test_evaluation:has_digit"
    for p in problems:
        assert p["n"] == 4 and p["correct"][name] == sum(p["verdicts"][name]) and len(p["answers"]) == 4
    for k in (1, 2, 4):
        fig = report["summary"][name][f"pass@{k}"]
        assert fig["value"] == pytest.approx(_recomputed(problems, name, k), abs=1e-9)
        assert fig["low"] <= fig["value"] <= fig["high"]
    avg = report["summary"][name]["avg@4"]["value"]
    assert avg == pytest.approx(sum(p["correct"][name] / 4 for p in problems) / 6)
    # the Wilson interval of greedy (0/1 scores), by its textbook formula
    g = sum(p["greedy"][name] for p in problems) / 6
    z, n = 1.959963984540054, 6
    centre, half = (g + z * z / (2 * n)) / (1 + z * z / n), z / (1 + z * z / n) * math.sqrt(g * (1 - g) / n + z * z / (4 * n * n))
    assert report["summary"][name]["greedy"]["low"] == pytest.approx(max(0.0, centre - half))
    assert "| pass@4 |" in (out / "eval.md").read_text() and "| pass@4 |" in capsys.readouterr().out
    assert (out / "pass_at_k.png").read_bytes().startswith(b"\x89PNG")


def test_eval_settings_are_checked(tmp_path):
    for bad, message in (({"eval_num_samples": 0}, "eval_num_samples"), ({"eval_temperature": 0.0}, "eval_temperature")):
        with pytest.raises(ValueError, match=message):
            GRPOConfig(**common_args(str(tmp_path), **bad))
    assert GRPOConfig(**common_args(str(tmp_path), eval_metrics="math_accuracy, answer_format")).eval_metrics == [
        "math_accuracy", "answer_format"]


def test_unknown_eval_metric_fails_when_the_trainer_is_built(tmp_path):
    args = GRPOConfig(**common_args(str(tmp_path), eval_metrics=["no_such_metric"]))
    with pytest.raises(Exception, match="no_such_metric"):
        GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args, train_dataset=addition_dataset(4))


def test_eval_cli_reads_math500_and_aime_layouts(tmp_path):
    from grpo_ext.recipe_kit import data

    math500 = Dataset.from_dict({"problem": ["Half of 1?"], "solution": ["$\\boxed{\\frac12}$"], "answer": ["\\frac{1}{2}"]})
    aime = Dataset.from_dict({"problem": ["Find n."], "answer": [204]})
    assert data.normalise(math500)["answer"] == ["\\frac{1}{2}"]
    assert data.normalise(aime)["answer"] == ["204"]
    with pytest.raises(SystemExit, match="--k takes"):
        cli.main(["eval", "x", "--dataset", "y", "--k", "0"])
