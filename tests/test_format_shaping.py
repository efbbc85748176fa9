import math

import pytest

from grpo_ext import rewards

THINK = "<think>reasoning</think>"


@pytest.mark.parametrize("text, think, answer", [
    (f"{THINK} The answer is 4.", 1.0, 0.0),
    (f"{THINK}<answer>4</answer>", 1.0, 1.0),
    (f"  {THINK}\n<answer> 4 </answer>\n", 1.0, 1.0),
    ("<think></think><answer>4</answer>", 0.0, 0.0),           # empty think block
    (f"{THINK}", 0.0, 0.0),                                     # nothing after thinking
    (f"{THINK}{THINK}<answer>4</answer>", 0.0, 0.0),            # two think blocks
    (f"{THINK}<answer>4</answer> trailing", 1.0, 0.0),          # text after the answer
    (f"<answer>4</answer>{THINK}", 0.0, 0.0),                   # wrong order
    ("plain text", 0.0, 0.0),
])
def test_think_and_answer_format(text, think, answer):
    assert rewards.get("think_format")(completions=[text]) == [think]
    assert rewards.get("answer_format")(completions=[text]) == [answer]


def test_custom_tag_names():
    text = "<reasoning>r</reasoning><solution>4</solution>"
    assert rewards.get("answer_format", think_tag="reasoning", answer_tag="solution")(completions=[text]) == [1.0]
    assert rewards.get("answer_format")(completions=[text]) == [0.0]


def test_prefilled_think():
    fn = rewards.get("think_format", prefilled=True)
    # the prompt opened the block: a <think> in the completion would be a second one
    assert fn(completions=["step 1</think> 4", "<think>x</think> 4", "no close 4"]) == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("text, expected", [
    ("<think>a</think><answer>b</answer>", 1.0),
    ("<think>a</think>", 0.5),
    ("<think>a", 0.25),
    ("</think><think>", 0.25),          # closing before opening earns only the opening's half
    ("<think>a</think><answer>b", 0.75),
    ("<think><think>a</think>", 0.0),   # two openings: no credit for this tag
    ("", 0.0),
])
def test_tag_count(text, expected):
    assert rewards.get("tag_count")(completions=[text]) == [expected]


def test_tag_count_three_tags():
    fn = rewards.get("tag_count", tags=["a", "b", "c"])
    assert fn(completions=["<a>1</a><b>2</b>"]) == [pytest.approx(2 / 3)]


@pytest.mark.parametrize("length, expected", [(0, 0.0), (6, 0.0), (7, -0.25), (8, -0.5), (10, -1.0), (11, -1.0), (500, -1.0)])
def test_soft_overlong_hand_values(length, expected):
    # max 10, buffer 4: free up to 6 tokens, then (6 - L) / 4, then -1
    fn = rewards.get("soft_overlong", max_length=10, cache_length=4)
    assert fn(completions=["x"], completion_ids=[[0] * length]) == [pytest.approx(expected)]


def test_soft_overlong_checks_its_params():
    with pytest.raises(ValueError, match="cache_length <= max_length"):
        rewards.get("soft_overlong", max_length=4, cache_length=8)(completions=["x"], completion_ids=[[1]])


@pytest.mark.parametrize("ids, n, expected", [
    ([1, 2, 3, 4, 5], 2, 0.0),               # 4 bigrams, all distinct
    ([7, 7, 7, 7, 7], 2, -0.75),             # 4 bigrams, 1 distinct
    ([1, 2, 1, 2, 1, 2], 2, -0.6),           # 5 bigrams, 2 distinct
    ([1, 2], 3, 0.0),                        # shorter than n
    ([5, 5, 5, 5], 1, -0.75),
])
def test_repetition_penalty_hand_values(ids, n, expected):
    fn = rewards.get("repetition_penalty", ngram_size=n)
    assert fn(completions=["x"], completion_ids=[ids]) == [pytest.approx(expected)]


def test_repetition_penalty_is_language_agnostic():
    fn = rewards.get("repetition_penalty", ngram_size=2, max_penalty=-0.5)
    # without token ids it counts characters, so scripts without spaces work
    assert fn(completions=["好好好好好"]) == [pytest.approx(-0.5 * 0.75)]
    assert fn(completions=["你好世界和平"]) == [0.0]


def _cosine(at_max, at_zero, length, max_length):
    return at_max + 0.5 * (at_zero - at_max) * (1 + math.cos(math.pi * min(length, max_length) / max_length))


@pytest.mark.parametrize("length", [0, 2, 5, 8, 10, 20])
def test_cosine_scaled_hand_values(length):
    fn = rewards.get("cosine_scaled", max_length=10)
    out = fn(completions=["\\boxed{4}", "\\boxed{5}"], completion_ids=[[0] * length] * 2, answer=["4", "4"])
    assert out == [pytest.approx(_cosine(0.5, 1.0, length, 10)), pytest.approx(_cosine(-0.5, -1.0, length, 10))]
    if length == 0:
        assert out == [pytest.approx(1.0), pytest.approx(-1.0)]  # short & right best, short & wrong worst
    if length >= 10:
        assert out == [pytest.approx(0.5), pytest.approx(-0.5)]


def test_cosine_scaled_none_for_unparseable_gold():
    fn = rewards.get("cosine_scaled")
    assert fn(completions=["\\boxed{1}"], completion_ids=[[1]], answer=["\\frac{"]) == [None]


INVISIBLE = ["\u200b", "\u200d\u200c", "\u2060", "\ufeff", "\u3164", "\u2800", "\u00ad", " \u200b\n\u200b "]


@pytest.mark.parametrize("blank", INVISIBLE)
def test_invisible_characters_are_empty(blank):
    """Zero-width and other invisible characters do not fill a block or an answer."""
    think, answer = rewards.get("think_format"), rewards.get("answer_format")
    assert think(completions=[f"<think>{blank}</think> 4"]) == [0.0]
    assert think(completions=[f"{THINK}{blank}"]) == [0.0]
    assert answer(completions=[f"<think>{blank}</think><answer>4</answer>"]) == [0.0]
    assert answer(completions=[f"{THINK}<answer>{blank}</answer>"]) == [0.0]
    assert rewards.get("think_format", prefilled=True)(completions=[f"{blank}</think> 4"]) == [0.0]


def test_prefilled_still_checks_empty_blocks_and_nested_think():
    fn = rewards.get("think_format", prefilled=True)
    assert fn(completions=["</think> 4", "  </think> 4", "a<think>b</think> 4", "<think>a<think>b</think> 4",
                           "<think></think> 4", "x</think>"]) == [0.0] * 6
    assert fn(completions=["reasoning</think> 4", "a<THINK>b</think> 4"]) == [1.0, 0.0]
    plain = rewards.get("think_format")
    assert plain(completions=["<think>a</think><answer></answer>", "<think>a</think>$$", "<think>a</think> 5"]) == [0.0, 0.0, 1.0]


def test_tag_count_pays_empty_tags_in_any_order_as_documented():
    """tag_count is a dense early signal that cannot tell content or order (its docstring says
    so); the strict format rewards can: the same texts earn them nothing."""
    texts = ["<think></think><answer></answer>", "<answer></answer><think></think>"]
    assert rewards.get("tag_count")(completions=texts) == [1.0, 1.0]
    assert rewards.get("answer_format")(completions=texts) == [0.0, 0.0]
    from grpo_ext.rewards.format import tag_count

    assert "cannot tell" in tag_count.__doc__


def test_cosine_scaled_input_time_out_is_a_wrong_answer():
    slow = "\\boxed{" + "+".join(f"{n}!" for n in range(4850, 5000)) + "}"
    fn = rewards.get("cosine_scaled", max_length=10, timeout=0.05, timeout_score=0.25)
    assert fn(completions=[slow], completion_ids=[[0] * 10], answer=["1"]) == [pytest.approx(-0.5)]


def test_a_missing_row_of_token_ids_never_raises():
    """A row without token ids is measured in characters; no completion makes a reward raise."""
    assert rewards.get("cosine_scaled", max_length=5)(completions=["\\boxed{6}"], completion_ids=[None],
                                                      answer=["6"]) == [pytest.approx(0.5)]
    assert rewards.get("soft_overlong", max_length=4, cache_length=2)(completions=["abcdef"], completion_ids=[None]) == [-1.0]
    assert rewards.get("repetition_penalty", ngram_size=1)(completions=["aa"], completion_ids=[None]) == [-0.5]


@pytest.mark.parametrize("blank", ["<!-- -->", "\\phantom{5}", "\\,\\;\\quad", "\\text{}", "<answer></answer>", "$$"])
def test_answers_that_show_nothing_are_empty(blank):
    assert rewards.get("think_format")(completions=[f"{THINK} {blank}"]) == [0.0]
    assert rewards.get("answer_format")(completions=[f"{THINK}<answer>{blank}</answer>"]) == [0.0]


@pytest.mark.parametrize("blank", ["{}", "\\boxed{}", "&nbsp;", "&#8203;", "\\\\", "{ {} }", "\\boxed{\\phantom{5}}",
                                   "\\text{ }\\\\\\quad", "&#x200B;&nbsp;", "~~x~~", "<del>x</del>", "<s>2 + 3</s>"])
def test_empty_groups_entities_and_row_breaks_are_not_content(blank):
    """Blind round 3: ``{}``, ``\\boxed{}``, ``&nbsp;``, ``&#8203;`` and ``\\\\`` were paid as content;
    round 4: struck-out text (``~~x~~``), which the math rewards do not read either."""
    think_format, answer_format = rewards.get("think_format"), rewards.get("answer_format")
    text = f"<think>{blank}</think><answer>{blank}</answer>"
    assert think_format(completions=[text]) == [0.0]
    assert answer_format(completions=[text]) == [0.0]
    real = f"<think>{blank} 2 + 3</think><answer>{blank} 5</answer>"
    assert think_format(completions=[real]) == [1.0]
    assert answer_format(completions=[real]) == [1.0]
