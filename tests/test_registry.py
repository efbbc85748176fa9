import importlib
import pickle
import sys

import pytest

from grpo_ext import rewards
from grpo_ext.rewards.registry import MissingColumnError, RewardError, RewardSignatureError, UnknownRewardError


@pytest.fixture
def scratch():
    """Names registered in a test are removed afterwards."""
    before = set(rewards.available())
    yield
    for name in set(rewards.available()) - before:
        rewards.unregister(name)


def length_reward(completions, scale: float = 1.0, **kwargs):
    return [scale * len(c) for c in completions]


class Offset:
    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def __call__(self, completions, bonus):
        return [self.offset + b for b in bonus]


def test_function_with_params_binds_them(scratch):
    rewards.register("t_len")(length_reward)
    fn = rewards.get("t_len", scale=2.0)
    assert fn(prompts=["p", "q"], completions=["ab", "abcd"], completion_ids=None) == [4.0, 8.0]
    assert fn.__name__ == "t_len"


def test_class_is_instantiated_with_params(scratch):
    rewards.register("t_offset")(Offset)
    fn = rewards.get("t_offset", offset=0.5)
    assert fn(prompts=None, completions=["x", "y"], completion_ids=None, bonus=[1, 2], other=[0, 0]) == [1.5, 2.5]


def test_factory(scratch):
    @rewards.register("t_const", factory=True)
    def make(value: float):
        def const(completions):
            return [value] * len(completions)

        return const

    assert rewards.get("t_const", value=3.0)(completions=["a", "b"]) == [3.0, 3.0]


def test_duplicate_name_raises(scratch):
    rewards.register("t_dup")(length_reward)
    with pytest.raises(rewards.DuplicateRewardError, match="already registered"):
        rewards.register("t_dup")(Offset)


def test_builtin_name_cannot_be_overwritten():
    def math_accuracy(completions):
        return [0.0] * len(completions)

    with pytest.raises(rewards.DuplicateRewardError):
        rewards.register("math_accuracy")(math_accuracy)


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownRewardError) as err:
        rewards.get("math_acurracy")
    assert "Did you mean 'math_accuracy'" in str(err.value)
    assert "think_format" in str(err.value)  # and the full list


def test_lazy_module_attr_name(tmp_path, monkeypatch):
    (tmp_path / "my_lazy_rewards.py").write_text(
        "def shout(completions):\n    return [float(c.isupper()) for c in completions]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "my_lazy_rewards" not in sys.modules
    fn = rewards.get("my_lazy_rewards:shout")
    assert fn(completions=["ABC", "abc"]) == [1.0, 0.0]
    with pytest.raises(UnknownRewardError, match="cannot load"):
        rewards.get("my_lazy_rewards:nope")


def test_entry_point_loaded_only_when_named(tmp_path, monkeypatch, scratch):
    """A real installed-distribution layout (dist-info with entry_points.txt) on sys.path."""
    (tmp_path / "third_party_rewards.py").write_text(
        "LOADED = True\ndef polite(completions):\n    return [float('please' in c) for c in completions]\n"
    )
    dist = tmp_path / "third_party_rewards-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: third-party-rewards\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[grpo_ext.rewards]\npolite = third_party_rewards:polite\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    listed = rewards.available()
    assert "not loaded yet" in listed["polite"]
    assert "third_party_rewards" not in sys.modules
    fn = rewards.get("polite")
    assert "third_party_rewards" in sys.modules
    assert fn(completions=["please", "no"]) == [1.0, 0.0]


def test_signature_checks_at_registration(scratch):
    def positional_only(completions, /):
        return []

    def no_completions(prompts):
        return []

    with pytest.raises(RewardSignatureError, match="positional-only"):
        rewards.register("t_bad1")(positional_only)
    with pytest.raises(RewardSignatureError, match="no 'completions'"):
        rewards.register("t_bad2")(no_completions)
    with pytest.raises(RewardSignatureError, match="not callable"):
        rewards.Reward(42, "t_bad3")


def test_unknown_param_is_an_error(scratch):
    def strict(completions, scale=1.0):
        return [scale] * len(completions)

    rewards.register("t_strict")(strict)
    with pytest.raises(RewardSignatureError, match="no parameter 'scal'"):
        rewards.get("t_strict", scal=2)


def test_only_declared_columns_are_passed(scratch):
    seen = {}

    def picky(completions, answer, level=None):
        seen.update(answer=answer, level=level)
        return [0.0] * len(completions)

    rewards.register("t_picky")(picky)
    rewards.get("t_picky")(prompts=["p"], completions=["c"], completion_ids=[[1]], answer=["a"], other=["o"],
                           trainer_state=object())
    assert seen == {"answer": ["a"], "level": None}


def test_missing_column_names_reward_and_column(scratch):
    def needs_gold(completions, gold):
        return [0.0] * len(completions)

    rewards.register("t_gold")(needs_gold)
    with pytest.raises(MissingColumnError) as err:
        rewards.get("t_gold")(completions=["c"], answer=["x"])
    assert "'t_gold'" in str(err.value) and "'gold'" in str(err.value) and "['answer']" in str(err.value)


def test_gold_column_chosen_at_construction():
    fn = rewards.get("math_accuracy", gold_column="solution")
    with pytest.raises(MissingColumnError, match="'solution'"):
        fn(completions=["\\boxed{1}"], answer=["1"])
    assert fn(completions=["\\boxed{1}"], solution=["1"]) == [1.0]


@pytest.mark.parametrize("bad, message", [([1.0], "returned 1 values for 2"), ("x", "returned str"),
                                          ([1.0, "a"], "at index 1")])
def test_bad_outputs_are_errors(scratch, bad, message):
    rewards.register("t_badout")(lambda completions: bad)
    with pytest.raises(RewardError, match=message):
        rewards.get("t_badout")(completions=["a", "b"])


def test_none_means_not_applicable(scratch):
    rewards.register("t_none")(lambda completions: [None, 1])
    assert rewards.get("t_none")(completions=["a", "b"]) == [None, 1.0]


def test_conversational_completions():
    convo = [[{"role": "assistant", "content": "<think>hm</think> \\boxed{4}"}],
             [{"role": "assistant", "content": [{"type": "text", "text": "\\boxed{5}"}]}]]
    assert rewards.get("math_accuracy")(completions=convo, answer=["4", "4"]) == [1.0, 0.0]
    assert rewards.get("think_format")(completions=convo) == [1.0, 0.0]


@pytest.mark.parametrize("name", sorted(rewards.available()))
def test_every_builtin_is_picklable_with_params(name):
    params = {"math_accuracy": {"gold_column": "solution"}, "soft_overlong": {"max_length": 10, "cache_length": 2},
              "cosine_scaled": {"max_length": 5}, "tag_count": {"tags": ["a"]}}.get(name, {})
    fn = rewards.get(name, **params)
    clone = pickle.loads(pickle.dumps(fn))
    columns = {c: ["1"] for c in fn.params.required}
    if "verification_info" in columns:
        columns["verification_info"] = [{"language": "python", "test_cases": [{"input": "", "output": "1"}]}]
    completion = "<think>a</think>\\boxed{1}\n```python\nprint(1)\n```"
    kwargs = dict(prompts=["p"], completions=[completion], completion_ids=[[1, 2, 3]], **columns)
    assert clone(**kwargs) == fn(**kwargs)


def test_resolve_specs():
    assert rewards.resolve("tag_count").__name__ == "tag_count"
    fn = rewards.resolve({"name": "soft_overlong", "max_length": 4, "cache_length": 2})
    assert fn(completions=["x"], completion_ids=[[1, 2, 3]]) == [-0.5]
    with pytest.raises(RewardError, match="no 'name'"):
        rewards.resolve({"max_length": 3})
    plain = lambda completions: [0.0]  # noqa: E731
    assert rewards.resolve(plain) is plain


def test_available_has_one_line_docs():
    docs = rewards.available()
    assert {"math_accuracy", "think_format", "answer_format", "tag_count", "soft_overlong", "repetition_penalty",
            "cosine_scaled"} <= set(docs)
    assert all(doc and "\n" not in doc for doc in docs.values())


def test_package_docstring_example():
    import doctest

    assert doctest.testmod(rewards, verbose=False).failed == 0


@pytest.mark.parametrize("old", ["code_rows", "code_backends", "languages", "sandbox", "sandbox_check", "_isolate",
                                 "_bounds", "_checks", "_harness"])
def test_code_modules_live_only_in_rewards_code(old):
    """The code modules live in rewards/code/ only: the flat paths of before are gone (checked on
    the files: an editable install of another checkout may still resolve the name)."""
    from pathlib import Path

    assert not (Path(rewards.__path__[0]) / f"{old}.py").exists()
    assert (Path(rewards.__path__[0]) / "code" / f"{ {'code_rows': 'rows', 'code_backends': 'backends'}.get(old, old)}.py").is_file()


def test_rewards_code_package_keeps_its_names():
    from grpo_ext.rewards import code
    from grpo_ext.rewards.code import reward

    assert code.CodeExecution is reward.CodeExecution
    assert code.sandbox is importlib.import_module("grpo_ext.rewards.code.sandbox")
    assert rewards.get("code_execution").fn.__class__ is reward.CodeExecutionShare
    assert code.extract_code("```python\nx = 1\n```") == "x = 1\n"
