"""coursekit.memory: saved-tensor accounting, the training-memory budget, checkpointing, fp16 underflow."""

import copy

import pytest
import torch
from torch import nn

from coursekit.memory import (
    FLOAT_FORMATS,
    activation_bytes,
    checkpointed,
    estimate_training_memory,
    fp16_underflow,
    measure_training_memory,
    optimizer_kind,
    peak_cuda_bytes,
)
from coursekit.models import StudentNet, TeacherNet


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 5))


def test_activation_bytes_of_two_linear_layers():
    # y = h @ W2.T + b with h = x @ W1.T + b1: layer 2 saves h (for dW2) and W2 (for dh); layer 1 saves
    # only x (nothing needs dx, so W1 is not kept)
    model = nn.Sequential(nn.Linear(10, 7), nn.Linear(7, 3))
    x = torch.randn(16, 10)
    saved = activation_bytes(model, x)
    assert saved.activations == (16 * 10 + 16 * 7) * 4
    assert saved.parameters == model[1].weight.numel() * 4


def test_activation_bytes_counts_a_storage_once():
    x = torch.randn(8, 50, requires_grad=True)  # no parameters: the input is what needs a gradient

    class Twice(nn.Module):
        def forward(self, x):
            h = x.exp()  # exp saves its output h
            return (h * h).sum()  # mul saves h twice: one storage

    saved = activation_bytes(Twice(), x)
    assert saved.tensors >= 3
    assert saved.activations == x.numel() * 4


def test_activation_bytes_restores_mode_and_batchnorm_statistics():
    model = nn.Sequential(nn.Linear(20, 8), nn.BatchNorm1d(8)).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    activation_bytes(model, torch.randn(4, 20))
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_checkpointing_saves_bytes_with_identical_outputs_and_gradients():
    torch.manual_seed(0)
    model = TeacherNet(in_channels=1)
    x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 10, (64,))
    plain = copy.deepcopy(model)
    ckpt = checkpointed(model, 3)
    assert activation_bytes(plain, x).activations >= 1.5 * activation_bytes(ckpt, x).activations
    torch.manual_seed(1)
    out_plain = plain(x)
    torch.manual_seed(1)  # the same dropout masks
    out_ckpt = ckpt(x)
    assert torch.allclose(out_plain, out_ckpt, atol=1e-5)
    nn.functional.cross_entropy(out_plain, y).backward()
    nn.functional.cross_entropy(out_ckpt, y).backward()
    for p, q in zip(plain.parameters(), ckpt.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-5)
    assert set(ckpt.state_dict()) == set(model.state_dict())  # same names: weights load either way


def test_checkpointed_leaves_the_original_alone_and_validates():
    model = StudentNet(in_channels=1)
    ckpt = checkpointed(model, 2)
    assert type(model.features) is nn.Sequential and ckpt is not model
    with pytest.raises(TypeError, match="'model' parameter of checkpointed"):
        checkpointed(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="'segments' parameter of checkpointed"):
        checkpointed(model, 0)


@pytest.mark.parametrize("kind, copies", [("adam", 2), ("adamw", 2), ("sgd_momentum", 1), ("sgd", 0)])
def test_estimate_matches_the_tensors_a_real_step_holds(kind, copies):
    model = _mlp()
    x, y = torch.randn(8, 20), torch.randint(0, 5, (8,))
    measured = measure_training_memory(model, x, y, kind)
    estimate = estimate_training_memory(model, kind, activations=measured.activations)
    n = sum(p.numel() for p in model.parameters()) * 4
    assert estimate.parameters == measured.parameters == n
    assert estimate.gradients == measured.gradients == n
    assert estimate.optimizer_state == copies * n
    # Adam also keeps one scalar step counter per parameter tensor
    assert 0 <= measured.optimizer_state - estimate.optimizer_state <= 4 * 8 * len(list(model.parameters()))


def test_estimate_skips_frozen_parameters():
    model = _mlp()
    model[0].requires_grad_(False)
    est = estimate_training_memory(model, "adam")
    trainable = sum(p.numel() for p in model[2].parameters()) * 4
    assert est.gradients == trainable and est.optimizer_state == 2 * trainable
    assert est.parameters == sum(p.numel() for p in model.parameters()) * 4


def test_estimate_validates_optimizer():
    with pytest.raises(ValueError, match="'optimizer' parameter of estimate_training_memory must be one of"):
        estimate_training_memory(_mlp(), "rmsprop")


def test_optimizer_kind():
    params = list(_mlp().parameters())
    assert optimizer_kind(torch.optim.Adam(params)) == "adam"
    assert optimizer_kind(torch.optim.SGD(params, lr=0.1)) == "sgd"
    assert optimizer_kind(torch.optim.SGD(params, lr=0.1, momentum=0.9)) == "sgd_momentum"


def test_float_formats_agree_with_torch_finfo():
    for fmt in FLOAT_FORMATS.values():
        info = torch.finfo(fmt.dtype)
        assert fmt.bits == info.bits
        assert fmt.max == info.max and fmt.eps == info.eps
        assert fmt.eps == 2.0 ** -fmt.mantissa
    # smallest subnormal really is the smallest positive value
    half = FLOAT_FORMATS["fp16"].smallest_subnormal
    assert torch.tensor(half, dtype=torch.float16).item() == half
    assert torch.tensor(half / 2.1, dtype=torch.float16).item() == 0


def test_fp16_underflow_and_scaling():
    values = torch.tensor([1e-12, 1e-6, 1e-3, 0.0, -1e-9])  # fp16's smallest subnormal is ~6e-8
    assert fp16_underflow(values).tolist() == [True, False, False, False, True]
    assert fp16_underflow(values, 1024.0).tolist() == [True, False, False, False, False]
    assert not fp16_underflow(values, 2.0**20).any()


def test_peak_cuda_bytes_is_none_without_cuda():
    if torch.cuda.is_available():
        assert peak_cuda_bytes(lambda: torch.ones(1000, device="cuda")) >= 4000
    else:
        assert peak_cuda_bytes(lambda: None) is None
