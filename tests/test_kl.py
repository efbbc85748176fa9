"""KL estimators on small categorical distributions, by exact enumeration (no sampling noise).

A policy pi = softmax(theta) over V outcomes and a fixed reference q. "Expected value" is
sum_y pi(y) k(y); "expected gradient when used as a loss" is sum_y pi(y).detach() * grad k(y),
which is what a GRPO loss term averaged over samples from pi estimates.
"""

import pytest
import torch

from grpo_ext import kl

SAMPLED = [name for name, e in kl._ESTIMATORS.items() if not e.full_vocab]  # noqa: SLF001
V = 7


def problem(seed: int):
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(V, generator=g, dtype=torch.float64, requires_grad=True)
    logq = torch.log_softmax(torch.randn(V, generator=g, dtype=torch.float64) * 1.5, 0)
    return theta, logq


def true_kls(theta, logq):
    logp = torch.log_softmax(theta, 0)
    forward = (logp.exp() * (logp - logq)).sum()  # KL(pi || ref), "reverse KL" in RL usage
    backward = (logq.exp() * (logq - logp)).sum()  # KL(ref || pi)
    return forward, backward


def expected(theta, logq, fn, corrected=False):
    logp = torch.log_softmax(theta, 0)
    value = fn(logp, logq)
    if corrected:
        value = value * torch.exp(logp - logp.detach())  # pi / pi_old, 1 in value
    return (logp.exp().detach() * value).sum()


def grad(theta, scalar):
    (g,) = torch.autograd.grad(scalar, theta, retain_graph=True)
    return g


SEEDS = range(5)


@pytest.mark.parametrize("seed", SEEDS)
def test_expected_values(seed):
    theta, logq = problem(seed)
    forward, _ = true_kls(theta, logq)
    for name in ("k1", "k3", "k1+", "k3+"):
        assert expected(theta, logq, kl.get(name).fn).item() == pytest.approx(forward.item(), rel=1e-10), name
    k2 = expected(theta, logq, kl.get("k2").fn).item()
    assert abs(k2 - forward.item()) > 1e-4  # k2 is biased


@pytest.mark.parametrize("seed", SEEDS)
def test_k3_is_non_negative_and_k1_is_not(seed):
    theta, logq = problem(seed)
    logp = torch.log_softmax(theta, 0)
    assert (kl.k3(logp, logq) >= 0).all()
    assert (kl.k1(logp, logq) < 0).any()


@pytest.mark.parametrize("seed", SEEDS)
def test_expected_gradients_match_their_targets(seed):
    theta, logq = problem(seed)
    forward, backward = true_kls(theta, logq)
    grad_forward, grad_backward = grad(theta, forward), grad(theta, backward)
    zero = torch.zeros(V, dtype=torch.float64)
    targets = {"k1": zero, "k2": grad_forward, "k1+": grad_forward, "k3+": grad_forward, "k3": grad_backward}
    for name, target in targets.items():
        got = grad(theta, expected(theta, logq, kl.get(name).fn))
        torch.testing.assert_close(got, target, rtol=1e-9, atol=1e-12, msg=name)
    corrected = grad(theta, expected(theta, logq, kl.k3, corrected=True))
    torch.testing.assert_close(corrected, grad_forward, rtol=1e-9, atol=1e-12)  # DeepSeek-V3.2 correction


def test_k1_k3_disagree_with_the_truth_per_sample_but_not_in_expectation():
    theta, logq = problem(0)
    logp = torch.log_softmax(theta, 0)
    assert not torch.allclose(kl.k1(logp, logq), kl.k3(logp, logq))


def test_low_var_kl_is_k3_inside_its_clamps_and_clamped_outside():
    logp = torch.zeros(1, 5, dtype=torch.float64, requires_grad=True)
    ref = torch.tensor([[-5.0, -0.3, 0.0, 2.0, 30.0]], dtype=torch.float64)
    out = kl.low_var_kl(logp, ref)
    k3 = kl.k3(logp, ref)
    torch.testing.assert_close(out[0, :4], k3[0, :4])  # exp(-5) + 5 - 1 = 4.0067 etc.: no clamp binds
    assert out[0, 4].item() == 10.0  # exp(20) - 21 clamped to 10
    g = torch.autograd.grad(out.sum(), logp)[0]
    torch.testing.assert_close(g[0, :4], torch.autograd.grad(k3[0, :4].sum(), logp)[0][0, :4])
    assert g[0, 4].item() == 0.0  # no gradient through the clamp


@pytest.mark.parametrize("seed", SEEDS)
def test_low_var_kl_matches_k3_in_expectation_when_clamps_do_not_bind(seed):
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(V, generator=g, dtype=torch.float64, requires_grad=True)
    logq = torch.log_softmax(0.5 * torch.randn(V, generator=g, dtype=torch.float64), 0)
    assert (kl.k3(torch.log_softmax(theta, 0), logq) < 10).all()  # by construction the clamp never binds
    torch.testing.assert_close(grad(theta, expected(theta, logq, kl.low_var_kl)), grad(theta, expected(theta, logq, kl.k3)))
    assert expected(theta, logq, kl.low_var_kl).item() == pytest.approx(expected(theta, logq, kl.k3).item(), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_full_matches_enumerated_kl_and_its_gradient(seed, chunk):
    """Hidden states through two linear heads; the chunked computation equals enumeration."""
    g = torch.Generator().manual_seed(seed)
    b, t, h = 2, 3, 5
    hidden = torch.randn(b, t, h, generator=g, dtype=torch.float64, requires_grad=True)
    ref_hidden = torch.randn(b, t, h, generator=g, dtype=torch.float64)
    head = torch.nn.Linear(h, V, dtype=torch.float64)
    ref_head = torch.nn.Linear(h, V, bias=False, dtype=torch.float64)
    temperature = 0.7
    out = kl.full_kl(hidden, ref_hidden, head, ref_head, temperature=temperature, chunk_size=chunk)
    logp = torch.log_softmax(head(hidden) / temperature, -1)
    logq = torch.log_softmax(ref_head(ref_hidden) / temperature, -1)
    expect = (logp.exp() * (logp - logq)).sum(-1)
    torch.testing.assert_close(out, expect, rtol=1e-10, atol=1e-12)
    g1 = torch.autograd.grad(out.sum(), [hidden, head.weight])
    g2 = torch.autograd.grad(expect.sum(), [hidden, head.weight])
    for a, e in zip(g1, g2):
        torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-12)
    assert ref_head.weight.grad is None  # the reference never receives gradient


def test_full_matches_enumeration_of_the_sampled_estimators():
    """With one position, E_pi[k1] = E_pi[k3] = full."""
    theta, logq = problem(3)
    hidden = torch.eye(V, dtype=torch.float64)[:1].view(1, 1, V)  # picks row 0 of the weights
    head = torch.nn.Linear(V, V, bias=False, dtype=torch.float64)
    ref_head = torch.nn.Linear(V, V, bias=False, dtype=torch.float64)
    with torch.no_grad():
        head.weight[:, 0] = theta.detach()
        ref_head.weight[:, 0] = logq
    full = kl.full_kl(hidden, hidden, head, ref_head).item()
    assert full == pytest.approx(expected(theta, logq, kl.k3).item(), rel=1e-10)


def test_registry_errors_and_extension():
    with pytest.raises(ValueError, match="Did you mean 'k3'"):
        kl.get("k4")
    with pytest.raises(ValueError, match="already registered"):
        kl.register("k1")(kl.k1)

    @kl.register("test_half_k1")
    def half(logp, ref_logp):
        """Half of k1."""
        return 0.5 * (logp - ref_logp)

    try:
        assert kl.get("test_half_k1").fn is half and kl.available()["test_half_k1"] == "Half of k1."
    finally:
        kl._ESTIMATORS.pop("test_half_k1")  # noqa: SLF001
