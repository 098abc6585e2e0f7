"""coursekit.distill: the loss against a hand formula, T² gradient scaling, the training wrapper
(frozen teacher, cached logits aligned under shuffling, History components) and the experiment helpers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

import coursekit.distill as distill_module
from coursekit.data import load_dataset, make_loaders
from coursekit.distill import (
    DistillationLoss,
    KDLoss,
    LabelSplit,
    MLPStudent,
    add_class_bias,
    best_class_bias,
    class_accuracy,
    compare_seeds,
    compute_logits,
    distill,
    kd_loss,
    soft_targets,
    split_labels,
    without_class,
)
from coursekit.train import History

# ------------------------------------------------------------------------------------------------
# soft_targets
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [0.5, 1.0, 4.0, 20.0])
def test_soft_targets_is_softmax_of_logits_over_t(T):
    z = 5 * torch.randn(7, 10)
    expected = torch.exp(z / T) / torch.exp(z / T).sum(dim=1, keepdim=True)
    assert torch.allclose(soft_targets(z, T), expected, atol=1e-6)


def test_soft_targets_flattens_with_t_and_keeps_the_order():
    z = torch.tensor([4.0, 1.0, -2.0, 0.5])
    low, high = soft_targets(z, 1.0), soft_targets(z, 10.0)
    assert torch.equal(low.argsort(), high.argsort())
    assert high.max() < low.max() and high.min() > low.min()
    assert torch.allclose(soft_targets(z, 1e6), torch.full((4,), 0.25), atol=1e-5)
    assert torch.allclose(soft_targets(z, 1.0), torch.softmax(z, 0))


@pytest.mark.parametrize("T", [0, -1, float("nan")])
def test_soft_targets_rejects_non_positive_temperature(T):
    with pytest.raises(ValueError, match=r"'temperature' parameter of soft_targets must be a float in the range \(0, inf\)"):
        soft_targets(torch.randn(2, 3), T)


def test_soft_targets_rejects_non_tensors_and_integer_logits():
    with pytest.raises(TypeError, match="'logits' parameter of soft_targets"):
        soft_targets([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="'logits' parameter of soft_targets must be a float tensor"):
        soft_targets(torch.tensor([1, 2]), 1.0)
    with pytest.raises(TypeError, match="'temperature' parameter of soft_targets"):
        soft_targets(torch.randn(3), "4")


# ------------------------------------------------------------------------------------------------
# kd_loss
# ------------------------------------------------------------------------------------------------


def _hand_kd(zs, zt, y, T, alpha):
    """The loss written out with explicit sums (no F.kl_div, no F.cross_entropy)."""
    B = zs.shape[0]
    log_q1 = zs - torch.logsumexp(zs, dim=1, keepdim=True)
    hard = -sum(log_q1[b, y[b]] for b in range(B)) / B
    log_q = zs / T - torch.logsumexp(zs / T, dim=1, keepdim=True)
    log_p = zt / T - torch.logsumexp(zt / T, dim=1, keepdim=True)
    p = log_p.exp()
    kl_per_example = (p * (log_p - log_q)).sum(dim=1)  # KL(teacher || student) of each example
    soft = T**2 * kl_per_example.sum() / B  # batchmean
    return alpha * hard + (1 - alpha) * soft, hard, soft


@pytest.mark.parametrize("T, alpha", [(1.0, 0.5), (2.0, 0.0), (4.0, 0.3), (10.0, 1.0), (0.7, 0.9)])
def test_kd_loss_matches_the_hand_formula(T, alpha):
    B, C = 13, 7
    zs, zt, y = torch.randn(B, C), 3 * torch.randn(B, C), torch.randint(0, C, (B,))
    result = kd_loss(zs, zt, y, temperature=T, alpha=alpha)
    for got, want in zip(result, _hand_kd(zs, zt, y, T, alpha)):
        assert torch.allclose(got, want, atol=1e-5), (got, want)


def test_kd_loss_result_is_a_named_three_tuple():
    zs, zt, y = torch.randn(4, 3), torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    result = kd_loss(zs, zt, y)
    assert isinstance(result, KDLoss) and result._fields == ("total", "hard", "soft")
    total, hard, soft = result
    assert total is result.total and hard is result.hard and soft is result.soft
    assert all(t.dim() == 0 for t in result)
    assert repr(result).startswith("KDLoss(total=")
    assert torch.allclose(total, 0.3 * hard + 0.7 * soft)  # default alpha weighs the hard loss


def test_kd_loss_kl_points_from_teacher_to_student():
    zs, zt, y = torch.randn(6, 5), 4 * torch.randn(6, 5), torch.randint(0, 5, (6,))
    T = 2.0
    p, q = soft_targets(zt, T), soft_targets(zs, T)
    forward_kl = (p * (p.log() - q.log())).sum(1).mean() * T**2
    reverse_kl = (q * (q.log() - p.log())).sum(1).mean() * T**2
    soft = kd_loss(zs, zt, y, temperature=T).soft
    assert torch.allclose(soft, forward_kl, atol=1e-5)
    assert not torch.allclose(soft, reverse_kl, atol=1e-3)


def test_soft_loss_is_zero_when_the_student_copies_the_teacher():
    z = torch.randn(5, 4)
    assert kd_loss(z, z.clone(), torch.zeros(5, dtype=torch.long)).soft.abs().item() < 1e-6


@pytest.mark.parametrize("T", [1.0, 3.0, 8.0])
def test_soft_gradient_is_t_times_q_minus_p_over_batch(T):
    B, C = 9, 6
    zs, zt, y = torch.randn(B, C, requires_grad=True), torch.randn(B, C), torch.randint(0, C, (B,))
    kd_loss(zs, zt, y, temperature=T, alpha=0.0).total.backward()
    expected = T * (soft_targets(zs.detach(), T) - soft_targets(zt, T)) / B
    assert torch.allclose(zs.grad, expected, atol=1e-6)


def test_t_squared_keeps_the_soft_gradient_scale_while_without_it_it_falls_like_one_over_t_squared():
    zs, zt, y = torch.randn(32, 10), torch.randn(32, 10), torch.randint(0, 10, (32,))

    def grad_norm(T):
        z = zs.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(kd_loss(z, zt, y, temperature=T, alpha=0.0).soft, z)
        return g.norm().item()

    g100, g200 = grad_norm(100.0), grad_norm(200.0)
    assert g200 / g100 == pytest.approx(1.0, rel=0.02)  # with T²: the same scale
    assert (g200 / 200**2) / (g100 / 100**2) == pytest.approx(0.25, rel=0.02)  # without: 1/T²


def test_hard_loss_does_not_depend_on_temperature():
    zs, zt, y = torch.randn(8, 5), torch.randn(8, 5), torch.randint(0, 5, (8,))
    hards = {kd_loss(zs, zt, y, temperature=T).hard.item() for T in (1.0, 4.0, 16.0)}
    assert len(hards) == 1 and hards.pop() == pytest.approx(F.cross_entropy(zs, y).item())


def test_labelled_mask_restricts_the_hard_loss_only():
    zs, zt = torch.randn(6, 4), torch.randn(6, 4)
    y = torch.tensor([0, 1, -1, 3, -1, 2])
    mask = y >= 0
    result = kd_loss(zs, zt, y, labelled=mask)
    assert torch.allclose(result.hard, F.cross_entropy(zs[mask], y[mask]))
    assert torch.allclose(result.soft, kd_loss(zs, zt, torch.zeros(6, dtype=torch.long)).soft)


def test_a_batch_without_labels_has_zero_hard_loss_and_still_a_gradient():
    zs = torch.randn(3, 4, requires_grad=True)
    result = kd_loss(zs, torch.randn(3, 4), torch.full((3,), -1), labelled=torch.zeros(3, dtype=torch.bool))
    assert result.hard.item() == 0.0
    result.total.backward()
    assert zs.grad is not None and zs.grad.abs().sum() > 0


@pytest.mark.parametrize("kwargs, match", [
    ({"temperature": -1}, r"'temperature' parameter of kd_loss must be a float in the range \(0, inf\). Got -1 "),
    ({"temperature": 0.0}, r"'temperature' parameter of kd_loss must be a float in the range \(0, inf\)"),
    ({"alpha": 1.5}, r"'alpha' parameter of kd_loss must be a float in the range \[0, 1\]. Got 1.5"),
    ({"alpha": -0.1}, r"'alpha' parameter of kd_loss must be a float in the range \[0, 1\]"),
])
def test_kd_loss_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kd_loss(torch.randn(2, 3), torch.randn(2, 3), torch.tensor([0, 1]), **kwargs)


def test_kd_loss_rejects_bad_shapes_and_targets():
    zs, zt, y = torch.randn(4, 3), torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"'teacher_logits' parameter of kd_loss must be a tensor of the same shape"):
        kd_loss(zs, torch.randn(4, 5), y)
    with pytest.raises(ValueError, match=r"'student_logits' parameter of kd_loss must be a float tensor shaped \(batch, classes\)"):
        kd_loss(torch.randn(4, 3, 1), zt, y)
    with pytest.raises(ValueError, match=r"'student_logits' parameter of kd_loss"):
        kd_loss(torch.randn(12), zt, y)
    with pytest.raises(TypeError, match=r"'teacher_logits' parameter of kd_loss"):
        kd_loss(zs, zt.tolist(), y)
    with pytest.raises(ValueError, match=r"'targets' parameter of kd_loss must be class indices in the range \[0, 3\). Got 3"):
        kd_loss(zs, zt, torch.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"'targets' parameter of kd_loss must be class indices in the range \[0, 3\). Got -1"):
        kd_loss(zs, zt, torch.tensor([0, -1, 2, 0]))
    with pytest.raises(ValueError, match=r"'targets' parameter of kd_loss must be an integer tensor of shape \(4,\)"):
        kd_loss(zs, zt, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"'targets' parameter of kd_loss must be an integer tensor"):
        kd_loss(zs, zt, y.float())
    with pytest.raises(ValueError, match=r"'labelled' parameter of kd_loss must be a bool tensor of shape \(4,\)"):
        kd_loss(zs, zt, y, labelled=torch.ones(4))
    with pytest.raises(ValueError, match=r"'targets' parameter of kd_loss must be class indices"):  # a labelled -1
        kd_loss(zs, zt, torch.tensor([0, -1, 2, 0]), labelled=torch.ones(4, dtype=torch.bool))


def test_distillation_loss_module_returns_the_same_result():
    zs, zt, y = torch.randn(5, 4), torch.randn(5, 4), torch.randint(0, 4, (5,))
    module = DistillationLoss(temperature=3.0, alpha=0.6)
    assert isinstance(module, nn.Module) and "temperature=3.0, alpha=0.6" in repr(module)
    for a, b in zip(module(zs, zt, y), kd_loss(zs, zt, y, temperature=3.0, alpha=0.6)):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r"'temperature' parameter of DistillationLoss"):
        DistillationLoss(temperature=0)
    with pytest.raises(ValueError, match=r"'alpha' parameter of DistillationLoss"):
        DistillationLoss(alpha=2)


# ------------------------------------------------------------------------------------------------
# distill
# ------------------------------------------------------------------------------------------------

N, C = 40, 5


class IndexTeacher(nn.Module):
    """A teacher whose logits encode the index of the example it sees (images are filled with it).

    Its dropout makes train-mode outputs differ from eval-mode ones; it counts its forward calls and
    records the mode of each call.
    """

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.drop = nn.Dropout(0.5)
        self.calls = 0
        self.modes = []

    def forward(self, x):
        self.calls += 1
        self.modes.append((self.training, torch.is_grad_enabled()))
        index = x.flatten(1)[:, 0]  # (B,)
        logits = self.scale * torch.stack([index] + [torch.zeros_like(index)] * (C - 1), dim=1)
        return self.drop(logits)


class RecordingStudent(nn.Module):
    """A tiny linear student that records the images of every training batch."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, C)
        self.seen = []

    def forward(self, x):
        if self.training:
            self.seen.append(x.flatten(1)[:, 0].clone())
        return self.linear(x.flatten(1))


def _index_data(n=N):
    x = torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(n, 1, 2, 2).clone()  # x[i] is filled with i
    y = torch.arange(n) % C
    return TensorDataset(x, y)


def _loader(dataset, batch_size=8, seed=0):
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def record_losses(monkeypatch):
    """Records what distill passes to kd_loss: (student logits, teacher logits, targets, labelled)."""
    calls = []
    original = distill_module.kd_loss

    def spy(student_logits, teacher_logits, targets, **kwargs):
        calls.append((teacher_logits.detach().clone(), targets.clone(), kwargs.get("labelled")))
        return original(student_logits, teacher_logits, targets, **kwargs)

    monkeypatch.setattr(distill_module, "kd_loss", spy)
    return calls


@pytest.mark.parametrize("cache_teacher", [None, False])
def test_teacher_logits_stay_aligned_with_their_examples_under_shuffling(record_losses, cache_teacher):
    teacher, student = IndexTeacher(), RecordingStudent()
    distill(student, teacher, _loader(_index_data()), epochs=3, progress=False, cache_teacher=cache_teacher)
    assert len(record_losses) == len(student.seen) == 3 * (N // 8)
    for seen, (teacher_logits, targets, _) in zip(student.seen, record_losses):
        assert torch.equal(teacher_logits[:, 0], seen), "teacher logits belong to other images"
        assert torch.equal(targets, seen.long() % C), "labels belong to other images"
    first_epoch = torch.cat(student.seen[:N // 8])
    second_epoch = torch.cat(student.seen[N // 8:2 * N // 8])
    assert not torch.equal(first_epoch, second_epoch), "the loader did not reshuffle: the test proves nothing"


def test_a_loader_of_whole_batches_works_too(record_losses):
    data = _index_data()
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(data, batch_size=None, generator=generator,
                        sampler=BatchSampler(RandomSampler(data, generator=generator), 8, drop_last=False))
    for cache in (True, False):
        record_losses.clear()
        student = RecordingStudent()
        distill(student, IndexTeacher(), loader, epochs=2, progress=False, cache_teacher=cache)
        assert len(student.seen) == len(record_losses) == 2 * (N // 8)
        for seen, (teacher_logits, targets, _) in zip(student.seen, record_losses):
            assert torch.equal(teacher_logits[:, 0], seen) and torch.equal(targets, seen.long() % C)


def test_cached_teacher_runs_once_per_example_not_per_epoch():
    teacher = IndexTeacher()
    distill(RecordingStudent(), teacher, _loader(_index_data()), epochs=4, progress=False)
    assert teacher.calls == 1  # compute_logits: all 40 examples in one batch of 256
    teacher = IndexTeacher()
    distill(RecordingStudent(), teacher, _loader(_index_data()), epochs=4, progress=False, cache_teacher=False)
    assert teacher.calls == 4 * (N // 8)


def test_precomputed_teacher_logits_are_used_without_running_the_teacher(record_losses):
    data = _index_data()
    logits = compute_logits(IndexTeacher(), data)
    teacher, student = IndexTeacher(), RecordingStudent()
    distill(student, teacher, _loader(data), epochs=2, progress=False, teacher_logits=logits)
    assert teacher.calls == 0
    for seen, (teacher_logits, _, _) in zip(student.seen, record_losses):
        assert torch.equal(teacher_logits[:, 0], seen)


class CountingTeacher(nn.Module):
    """A linear teacher for the digits that counts its forward calls."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def test_augmented_data_gets_a_teacher_forward_on_every_batch():
    splits = load_dataset("digits")
    loader = make_loaders(splits, batch_size=256, seed=0, augment=True).train
    teacher = CountingTeacher()
    distill(MLPStudent(), teacher, loader, epochs=2, progress=False)
    assert teacher.calls == 2 * len(loader)
    with pytest.raises(ValueError, match=r"'cache_teacher' parameter of distill must be False or None for augmented"):
        distill(MLPStudent(), teacher, loader, epochs=1, progress=False, cache_teacher=True)


def test_teacher_is_frozen_in_eval_mode_during_training_and_restored_afterwards():
    teacher = IndexTeacher().train()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    for cache in (True, False):
        teacher.modes.clear()
        distill(RecordingStudent(), teacher, _loader(_index_data()), epochs=2, progress=False, cache_teacher=cache)
        assert teacher.modes and all(mode == (False, False) for mode in teacher.modes), teacher.modes
        assert teacher.training, "the teacher's train mode was not restored"
        assert teacher.scale.requires_grad and teacher.scale.grad is None
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())


def test_mixed_requires_grad_flags_are_restored_even_after_an_error():
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(4, C), nn.Linear(C, C)).eval()
    teacher[1].weight.requires_grad_(False)
    flags = [p.requires_grad for p in teacher.parameters()]
    with pytest.raises(ValueError, match="batches must be"):  # four tensors per batch: an error mid-way
        bad = TensorDataset(torch.randn(8, 1, 2, 2), torch.zeros(8, dtype=torch.long), torch.ones(8, dtype=torch.bool),
                            torch.ones(8))
        distill(RecordingStudent(), teacher, _loader(bad), epochs=1, progress=False)
    assert [p.requires_grad for p in teacher.parameters()] == flags and not teacher.training


def test_history_has_total_hard_soft_and_val_accuracy():
    data = _index_data()
    history = distill(RecordingStudent(), IndexTeacher(), _loader(data), DataLoader(data, batch_size=16),
                      epochs=3, progress=False, temperature=2.0, alpha=0.4)
    assert isinstance(history, History) and history.epochs == 3
    assert set(history.components) == {"hard", "soft"}
    assert all(len(v) == 3 for v in history.components.values()) and len(history.val_accuracy) == 3
    for total, hard, soft in zip(history.train_loss, history.components["hard"], history.components["soft"]):
        assert total == pytest.approx(0.4 * hard + 0.6 * soft, rel=1e-5)


def test_cached_and_per_batch_teachers_train_identically():
    """Same batches, same teacher logits (a linear teacher gives them exactly) -> the same student."""
    splits = load_dataset("digits")
    loader = make_loaders(splits, batch_size=64, seed=0).train
    torch.manual_seed(0)
    teacher = CountingTeacher()
    students = []
    for cache in (True, False):
        torch.manual_seed(1)
        student = MLPStudent(hidden=(16,))
        distill(student, teacher, loader, epochs=2, progress=False, cache_teacher=cache, seed=3)
        students.append(student)
    for a, b in zip(students[0].parameters(), students[1].parameters()):
        assert torch.allclose(a, b, atol=1e-5)


def test_distill_passes_the_labelled_mask_to_the_loss(record_losses):
    split = split_labels(_index_data(), 0.25, seed=0)
    distill(RecordingStudent(), IndexTeacher(), _loader(split.mixed), epochs=1, progress=False)
    assert all(labelled is not None and labelled.dtype == torch.bool for _, _, labelled in record_losses)
    for _, targets, labelled in record_losses:
        assert bool((targets[~labelled] == -1).all()) and bool((targets[labelled] >= 0).all())


def test_distill_argument_errors():
    data = _index_data()
    teacher = IndexTeacher()
    with pytest.raises(ValueError, match="must be a different model from 'student'"):
        distill(teacher, teacher, _loader(data), epochs=1)
    with pytest.raises(ValueError, match=r"'temperature' parameter of distill must be a float in the range \(0, inf\)"):
        distill(RecordingStudent(), teacher, _loader(data), epochs=1, temperature=-2)
    with pytest.raises(ValueError, match=r"'alpha' parameter of distill must be a float in the range \[0, 1\]"):
        distill(RecordingStudent(), teacher, _loader(data), epochs=1, alpha=3)
    with pytest.raises(TypeError, match=r"'train_loader' parameter of distill"):
        distill(RecordingStudent(), teacher, data, epochs=1)
    with pytest.raises(TypeError, match=r"'teacher' parameter of distill"):
        distill(RecordingStudent(), "teacher", _loader(data), epochs=1)
    with pytest.raises(ValueError, match=r"'teacher_logits' parameter of distill must be a float tensor shaped \(40, classes\)"):
        distill(RecordingStudent(), teacher, _loader(data), epochs=1, teacher_logits=torch.randn(39, C))
    with pytest.raises(ValueError, match=r"'teacher_logits' parameter of distill must be None when the teacher runs"):
        distill(RecordingStudent(), teacher, _loader(data), epochs=1, teacher_logits=torch.randn(N, C),
                cache_teacher=False)
    with pytest.raises(TypeError, match=r"'cache_teacher' parameter of distill"):
        distill(RecordingStudent(), teacher, _loader(data), epochs=1, cache_teacher="yes")
    with pytest.raises(ValueError, match=r"'epochs' parameter of distill must be an int in the range \[1, inf\)"):
        distill(RecordingStudent(), teacher, _loader(data), epochs=0)
    with pytest.raises(ValueError, match=r"'lr' parameter of distill"):
        distill(RecordingStudent(), teacher, _loader(data), epochs=1, lr=0)
    with pytest.raises(TypeError, match=r"'val_loader' parameter of distill"):
        distill(RecordingStudent(), teacher, _loader(data), data, epochs=1)
    assert teacher.calls == 0  # every argument is checked before the teacher runs


# ------------------------------------------------------------------------------------------------
# Helpers: compute_logits, split_labels, without_class, class accuracy and bias, MLPStudent, seeds
# ------------------------------------------------------------------------------------------------


def test_compute_logits_keeps_order_and_mode_for_tensors_datasets_and_loaders():
    data = _index_data()
    teacher = IndexTeacher().train()
    whole_batches = DataLoader(data, batch_size=None, sampler=BatchSampler(RandomSampler(data), 8, drop_last=False))
    for source in (data.tensors[0], data, _loader(data), whole_batches):
        logits = compute_logits(teacher, source, batch_size=7)
        assert torch.equal(logits[:, 0], torch.arange(N, dtype=torch.float32))  # dataset order, dropout off
        assert teacher.training and not logits.requires_grad
    with pytest.raises(TypeError, match=r"'data' parameter of compute_logits"):
        compute_logits(teacher, [1, 2, 3])
    with pytest.raises(ValueError, match=r"'batch_size' parameter of compute_logits"):
        compute_logits(teacher, data, batch_size=0)


def test_split_labels_keeps_a_stratified_fraction_and_hides_the_rest():
    splits = load_dataset("digits")
    split = split_labels(splits.train, 0.1, seed=0)
    assert isinstance(split, LabelSplit) and "126 of 1259" in repr(split)
    x, y = splits.train.tensors
    mx, my, mask = split.mixed.tensors
    assert torch.equal(mx, x) and mask.dtype == torch.bool
    assert torch.equal(my[mask], y[mask]) and bool((my[~mask] == -1).all())
    lx, ly = split.labelled.tensors
    assert torch.equal(lx, x[mask]) and torch.equal(ly, y[mask])
    for c in range(10):
        assert int(mask[y == c].sum()) == max(1, round(0.1 * int((y == c).sum())))
    assert torch.equal(split_labels(splits.train, 0.1, seed=0).mixed.tensors[2], mask)
    assert not torch.equal(split_labels(splits.train, 0.1, seed=1).mixed.tensors[2], mask)
    assert int(split_labels(splits.train, 1e-6).mixed.tensors[2].sum()) == 10  # at least one per class


def test_split_labels_errors():
    with pytest.raises(ValueError, match=r"'fraction' parameter of split_labels must be a float in the range \(0, 1\]"):
        split_labels(_index_data(), 0.0)
    with pytest.raises(ValueError, match=r"'fraction' parameter of split_labels"):
        split_labels(_index_data(), 1.5)
    with pytest.raises(TypeError, match=r"'dataset' parameter of split_labels"):
        split_labels([1, 2], 0.5)
    with pytest.raises(ValueError, match=r"'dataset' parameter of split_labels must be a TensorDataset of exactly"):
        split_labels(TensorDataset(torch.zeros(3), torch.zeros(3), torch.zeros(3)), 0.5)


def test_without_class_removes_every_example_of_that_class():
    data = _index_data()
    out = without_class(data, 2)
    assert len(out) == N - N // C and not bool((out.tensors[1] == 2).any())
    with pytest.raises(ValueError, match=r"'label' parameter of without_class"):
        without_class(data, -1)


class FixedModel(nn.Module):
    """Predicts class ``x[..., 0] % C`` except that class 3 gets a logit 1 below its rival."""

    def __init__(self):
        super().__init__()
        self.out = nn.Linear(C, C)
        with torch.no_grad():
            self.out.weight.copy_(torch.eye(C))
            self.out.bias.zero_()

    def forward(self, x):
        label = x.flatten(1)[:, 0].long() % C
        onehot = F.one_hot(label, C).float() * 2.0
        onehot[label == 3, 0] = 3.0  # a 3 looks more like a 0 by one logit
        return self.out(onehot)


def test_class_accuracy_and_bias_fix():
    data = _index_data()
    loader = DataLoader(data, batch_size=16)
    model = FixedModel()
    assert class_accuracy(model, loader, 3) == 0.0 and class_accuracy(model, loader, 1) == 1.0
    amount, accuracy = best_class_bias(model, loader, 3, [0.0, 0.5, 1.5, 2.0, 5.0])
    assert amount == 1.5 and accuracy == 1.0  # the smallest shift that fixes the 3s without breaking the rest
    assert model.out.bias[3].item() == 0.0  # best_class_bias leaves the model alone
    assert add_class_bias(model, 3, amount) is model and model.out.bias[3].item() == 1.5
    assert class_accuracy(model, loader, 3) == 1.0


def test_class_accuracy_and_bias_errors():
    loader = DataLoader(_index_data(), batch_size=16)
    model = FixedModel()
    with pytest.raises(ValueError, match=r"'label' parameter of class_accuracy must be a class present"):
        class_accuracy(model, DataLoader(without_class(_index_data(), 3), batch_size=8), 3)
    with pytest.raises(ValueError, match=r"'label' parameter of add_class_bias must be an int in the range \[0, 4\]"):
        add_class_bias(model, 5, 1.0)
    with pytest.raises(TypeError, match="must end in an nn.Linear layer with a bias"):
        add_class_bias(nn.ReLU(), 0, 1.0)
    with pytest.raises(ValueError, match=r"'amounts' parameter of best_class_bias must hold at least one value"):
        best_class_bias(model, loader, 3, [])
    with pytest.raises(TypeError, match=r"'loader' parameter of best_class_bias"):
        best_class_bias(model, _index_data(), 3, [1.0])


def test_mlp_student_shapes_size_and_errors():
    model = MLPStudent()
    assert model(torch.randn(7, 1, 8, 8)).shape == (7, 10)
    assert sum(p.numel() for p in model.parameters()) == 64 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    assert MLPStudent(in_features=4, hidden=(), num_classes=3)(torch.randn(2, 4)).shape == (2, 3)
    with pytest.raises(ValueError, match="MLPStudent expects 64 input values per example"):
        model(torch.randn(2, 1, 4, 4))
    with pytest.raises(TypeError, match=r"'hidden' parameter of MLPStudent"):
        MLPStudent(hidden=300)
    with pytest.raises(ValueError, match=r"'num_classes' parameter of MLPStudent"):
        MLPStudent(num_classes=1)


def test_compare_seeds():
    result = compare_seeds([0.90, 0.92, 0.94], [0.95, 0.96, 0.97])
    assert result.baseline_mean == pytest.approx(0.92) and result.treated_mean == pytest.approx(0.96)
    assert result.baseline_std == pytest.approx(0.02) and result.spread == pytest.approx(0.02)
    assert result.difference == pytest.approx(0.04) and result.exceeds_spread and result.seeds == 3
    assert not compare_seeds([0.90, 0.95, 1.0], [0.92, 0.96, 0.97]).exceeds_spread
    assert "exceeds_spread=True" in repr(result)
    with pytest.raises(ValueError, match="same number \\(at least 2\\)"):
        compare_seeds([0.9], [0.8])
    with pytest.raises(ValueError, match="same number"):
        compare_seeds([0.9, 0.8], [0.8, 0.7, 0.6])
    with pytest.raises(TypeError, match=r"'baseline' parameter of compare_seeds"):
        compare_seeds(0.9, [0.8])
    assert math.isclose(compare_seeds((1, 2), (3, 4)).difference, 2.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cache_teacher", [True, False])
def test_distill_on_cuda(cache_teacher):
    from coursekit.models import StudentNet, TeacherNet

    loaders = make_loaders(load_dataset(), 128)
    teacher, student = TeacherNet().cuda(), StudentNet().cuda()
    history = distill(student, teacher, loaders.train, loaders.val, epochs=1, progress=False,
                      cache_teacher=cache_teacher)
    assert history.epochs == 1 and next(student.parameters()).is_cuda
