"""coursekit.prune: one property per test, in the spirit of torch.nn.utils.prune's own tests."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as tprune
from torch.utils.data import DataLoader, TensorDataset

from coursekit import prune as P
from coursekit.metrics import count_flops
from coursekit.models import StudentNet, TeacherNet, count_parameters
from coursekit.train import fit


def small_cnn(seed: int = 0) -> nn.Module:
    """conv-BN-ReLU-conv-BN-ReLU-pool-flatten-linear-ReLU-linear, with non-trivial BN statistics."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 12, 3, padding=1), nn.BatchNorm2d(12), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4),
    )
    randomize_batchnorm(model)
    return model.eval()


def randomize_batchnorm(model: nn.Module) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)


def weights(model):
    return [m.weight for _, m in P.prunable_layers(model)]


def tiny_loader(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = torch.randint(0, 4, (n,), generator=g)
    return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))


X = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(1))


# --- magnitude_prune -------------------------------------------------------------------------

@pytest.mark.parametrize("s", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_layer_scope_gives_every_layer_the_sparsity(s):
    model = P.magnitude_prune(small_cnn(), s)
    for _, m in P.prunable_layers(model):
        assert P.sparsity(m.weight) == pytest.approx(round(s * m.weight.numel()) / m.weight.numel())


def test_weight_is_orig_times_mask():
    model = P.magnitude_prune(small_cnn(), 0.6)
    for _, m in P.prunable_layers(model):
        assert torch.equal(m.weight, m.weight_orig * m.weight_mask)


def test_layer_mask_equals_torch_l1_unstructured():
    ours = P.magnitude_prune(small_cnn(), 0.37)
    theirs = small_cnn()
    for _, m in P.prunable_layers(theirs):
        tprune.l1_unstructured(m, "weight", amount=0.37)
    for (_, a), (_, b) in zip(P.prunable_layers(ours), P.prunable_layers(theirs), strict=True):
        assert torch.equal(a.weight_mask, b.weight_mask)


def test_global_mask_equals_torch_global_unstructured():
    ours = P.magnitude_prune(small_cnn(), 0.7, scope="global")
    theirs = small_cnn()
    tprune.global_unstructured([(m, "weight") for _, m in P.prunable_layers(theirs)],
                               pruning_method=tprune.L1Unstructured, amount=0.7)
    for (_, a), (_, b) in zip(P.prunable_layers(ours), P.prunable_layers(theirs), strict=True):
        assert torch.equal(a.weight_mask, b.weight_mask)


def test_global_uses_one_threshold_across_layers():
    model = small_cnn()
    with torch.no_grad():  # very different scales per layer: a per-layer threshold would differ
        for i, w in enumerate(weights(model)):
            w.mul_(10.0 ** i)
    P.magnitude_prune(model, 0.5, scope="global")
    pruned = torch.cat([m.weight_orig[m.weight_mask == 0].abs() for _, m in P.prunable_layers(model)])
    kept = torch.cat([m.weight_orig[m.weight_mask == 1].abs() for _, m in P.prunable_layers(model)])
    assert pruned.max() <= kept.min()
    assert P.sparsity(model) == pytest.approx(0.5, abs=1e-3)
    per_layer = P.sparsity_report(model).as_dict()
    assert max(per_layer.values()) - min(per_layer.values()) > 0.5


def test_layer_scope_uses_a_threshold_per_layer():
    model = small_cnn()
    with torch.no_grad():
        for i, w in enumerate(weights(model)):
            w.mul_(10.0 ** i)
    P.magnitude_prune(model, 0.5)
    for _, m in P.prunable_layers(model):
        assert m.weight_orig[m.weight_mask == 0].abs().max() <= m.weight_orig[m.weight_mask == 1].abs().min()


def test_targets_are_absolute_and_never_unprune():
    model = P.magnitude_prune(small_cnn(), 0.5)
    first = [m.weight_mask.clone() for _, m in P.prunable_layers(model)]
    P.magnitude_prune(model, 0.8)
    assert P.sparsity(model) == pytest.approx(0.8, abs=2e-3)
    for old, (_, m) in zip(first, P.prunable_layers(model), strict=True):
        assert torch.all(m.weight_mask <= old)  # every weight pruned before is still pruned
    P.magnitude_prune(model, 0.3)  # a lower target does not bring weights back
    assert P.sparsity(model) == pytest.approx(0.8, abs=2e-3)


def test_one_hook_per_tensor_after_repeated_pruning():
    model = small_cnn()
    for s in (0.2, 0.4, 0.6):
        P.magnitude_prune(model, s)
    conv = model[0]
    hooks = [h for h in conv._forward_pre_hooks.values() if isinstance(h, tprune.BasePruningMethod)]
    assert len(hooks) == 1


def test_pruned_weights_stay_zero_after_optimizer_step():
    model = P.magnitude_prune(small_cnn().train(), 0.7)
    masks = [m.weight_mask.clone() for _, m in P.prunable_layers(model)]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(X).sum().backward()
    opt.step()
    model(X)  # the forward pre-hook recomputes weight = orig * mask
    for mask, (_, m) in zip(masks, P.prunable_layers(model), strict=True):
        assert torch.all(m.weight[mask == 0] == 0)
        assert torch.all(m.weight_orig.grad[mask == 0] == 0)


def test_existing_optimizer_still_updates_the_parameters():
    model = small_cnn().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    orig = model[0].weight
    P.magnitude_prune(model, 0.5)
    assert model[0].weight_orig is orig  # same Parameter object: the optimizer still holds it
    before = orig.detach().clone()
    model(X).sum().backward()
    opt.step()
    assert not torch.equal(before, model[0].weight_orig)


def test_pruned_weights_stay_zero_after_fit():
    model = P.magnitude_prune(small_cnn(), 0.8, scope="global")
    masks = [m.weight_mask.clone() for _, m in P.prunable_layers(model)]
    fit(model, tiny_loader(), epochs=2, lr=1e-2, progress=False)
    assert P.sparsity(model) == pytest.approx(0.8, abs=1e-3)
    for mask, (_, m) in zip(masks, P.prunable_layers(model), strict=True):
        assert torch.all(P.effective_weight(m)[mask == 0] == 0)


# --- structured ------------------------------------------------------------------------------

def relu_outputs(model, x):
    """Outputs of every ReLU (i.e. of conv -> BN -> ReLU and Linear -> ReLU blocks)."""
    outs = []
    hooks = [m.register_forward_hook(lambda mod, i, o: outs.append(o.detach().clone()))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    model(x)
    for h in hooks:
        h.remove()
    return outs


@pytest.mark.parametrize("train_mode", [False, True])
def test_structured_channels_output_exactly_zero_including_batchnorm(train_mode):
    model = P.magnitude_prune(small_cnn(), 0.5, structured=True)
    model.train(train_mode)  # in train mode BN uses batch statistics: the channel must still be zero
    layers = [m for _, m in P.prunable_layers(model)][:-1]
    for layer, out in zip(layers, relu_outputs(model, X), strict=True):
        dead = layer.weight_mask.flatten(1).sum(dim=1) == 0
        assert dead.sum() == round(0.5 * len(dead))
        assert torch.all(out[:, dead] == 0)
        assert torch.any(out[:, ~dead] != 0)


def test_structured_masks_bias_and_batchnorm_affine():
    model = P.magnitude_prune(small_cnn(), 0.5, structured=True)
    conv, bn = model[0], model[1]
    dead = conv.weight_mask.flatten(1).sum(dim=1) == 0
    assert torch.all(conv.bias[dead] == 0)
    assert torch.all(bn.weight[dead] == 0) and torch.all(bn.bias[dead] == 0)


def test_structured_removes_lowest_l2_norm_channels():
    model = small_cnn()
    norms = model[3].weight.detach().flatten(1).norm(dim=1)
    P.magnitude_prune(model, 0.25, structured=True)
    dead = model[3].weight_mask.flatten(1).sum(dim=1) == 0
    assert norms[dead].max() < norms[~dead].min()


def test_structured_never_prunes_the_output_layer():
    model = P.magnitude_prune(small_cnn(), 0.9, structured=True)
    assert not hasattr(model[-1], "weight_mask")
    assert model(X).shape == (5, 4)
    teacher = P.magnitude_prune(TeacherNet(in_channels=1), 0.5, structured=True)
    assert not hasattr(teacher.classifier[-1], "weight_mask")
    assert hasattr(teacher.classifier[2], "weight_mask")  # hidden neurons are pruned


def test_structured_global_scope_is_refused():
    with pytest.raises(ValueError, match="'scope' parameter of magnitude_prune must be 'layer'"):
        P.magnitude_prune(small_cnn(), 0.5, structured=True, scope="global")


# --- random ----------------------------------------------------------------------------------

def test_random_prune_is_seeded():
    a = P.random_prune(small_cnn(), 0.5, seed=3)
    b = P.random_prune(small_cnn(), 0.5, seed=3)
    c = P.random_prune(small_cnn(), 0.5, seed=4)
    masks = lambda m: torch.cat([x.weight_mask.flatten() for _, x in P.prunable_layers(m)])  # noqa: E731
    assert torch.equal(masks(a), masks(b))
    assert not torch.equal(masks(a), masks(c))


def test_random_prune_sparsity_and_independence_from_magnitude():
    model = P.random_prune(small_cnn(), 0.5, seed=0)
    assert P.sparsity(model) == pytest.approx(0.5, abs=2e-3)
    m = model[3]
    assert m.weight_orig[m.weight_mask == 0].abs().max() > m.weight_orig[m.weight_mask == 1].abs().min()


# --- sparsity, report ------------------------------------------------------------------------

def test_sparsity_of_a_tensor():
    assert P.sparsity(torch.tensor([0.0, 1.0, 0.0, 2.0])) == 0.5


def test_sparsity_counts_effective_weights_not_weight_orig():
    model = P.magnitude_prune(small_cnn(), 0.9)
    assert P.sparsity(model) == pytest.approx(0.9, abs=5e-3)
    # the seed code's way (zeros among model.parameters()) sees weight_orig and finds ~no zeros
    seed_way = sum((p == 0).sum().item() for p in model.parameters()) / sum(p.numel() for p in model.parameters())
    assert seed_way < 0.01


def test_sparsity_report_rows_and_total():
    model = P.magnitude_prune(small_cnn(), 0.5)
    report = P.sparsity_report(model)
    assert [r.name for r in report.layers] == [n for n, _ in P.prunable_layers(model)]
    assert report.numel == sum(m.weight.numel() for _, m in P.prunable_layers(model))
    assert report.sparsity == pytest.approx(P.sparsity(model))
    assert "total" in repr(report) and "<table>" in report._repr_html_()


# --- schedule, gradual -----------------------------------------------------------------------

def test_polynomial_schedule_values_and_exact_endpoint():
    values = P.polynomial_schedule(0.1, 0.9, 8)
    expected = [0.9 + (0.1 - 0.9) * (1 - t / 8) ** 3 for t in range(1, 9)]
    assert values == pytest.approx(expected)
    assert values[-1] == 0.9  # exactly, not approximately
    assert len(values) == 8 and all(b >= a for a, b in zip(values, values[1:], strict=False))


def test_polynomial_schedule_front_loads_pruning():
    cubic, linear = P.polynomial_schedule(0, 0.9, 10), P.polynomial_schedule(0, 0.9, 10, power=1)
    assert linear == pytest.approx([0.09 * t for t in range(1, 11)])
    assert all(c >= lin for c, lin in zip(cubic, linear, strict=True))


def test_gradual_prune_history():
    model = small_cnn()
    calls = []
    history = P.gradual_prune(model, 0.8, steps=4, finetune=lambda m, step: calls.append(step),
                              evaluate_fn=lambda m: P.sparsity(m))
    assert calls == [1, 2, 3, 4]
    assert history.targets == pytest.approx(list(P.polynomial_schedule(0.0, 0.8, 4)))
    assert [s.step for s in history.steps] == [1, 2, 3, 4]
    assert history.achieved == pytest.approx(history.targets, abs=2e-3)
    assert history.metrics == pytest.approx(history.achieved)
    assert history.initial_metric == 0.0
    assert P.sparsity(model) == pytest.approx(0.8, abs=2e-3)
    assert "step" in repr(history)


def test_gradual_prune_with_finetuner_keeps_zeros():
    model = small_cnn()
    history = P.gradual_prune(model, 0.75, steps=2, finetune=P.finetuner(tiny_loader(), epochs=1, lr=1e-2))
    assert history.achieved[-1] == pytest.approx(0.75, abs=2e-3)
    assert P.sparsity(model) == pytest.approx(0.75, abs=2e-3)


# --- sensitivity, plans ----------------------------------------------------------------------

def test_sensitivity_scan_leaves_the_model_as_it_was():
    model = P.magnitude_prune(small_cnn(), 0.3)  # an already pruned model must survive too
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out_before = model(X)
    P.sensitivity_scan(model, lambda m: m(X).sum().item(), [0.5, 0.9])
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(model(X), out_before)
    assert len([h for h in model[0]._forward_pre_hooks.values()]) == 1


def test_sensitivity_scan_prunes_one_layer_per_trial():
    seen = []
    scan = P.sensitivity_scan(small_cnn(), lambda m: seen.append(P.sparsity_report(m).as_dict()) or 0.0,
                              [0.5], layers=["3", "8"])
    assert scan.layers == ("3", "8") and scan.sparsities == (0.5,)
    baseline, trial3, trial8 = seen
    assert all(v == 0 for v in baseline.values())
    assert trial3["3"] == pytest.approx(0.5, abs=0.01) and trial3["8"] == 0
    assert trial8["8"] == pytest.approx(0.5, abs=0.01) and trial8["3"] == 0


def fake_scan():
    # layer "a" is robust, "b" is sensitive; both equally large
    return P.SensitivityScan(layers=("a", "b"), sparsities=(0.5, 0.9), baseline=1.0,
                             metrics={"a": (1.0, 0.99), "b": (0.9, 0.2)}, sizes={"a": 1000, "b": 1000})


@pytest.mark.parametrize("target", [0.2, 0.45, 0.6, 0.7])
def test_adaptive_plan_meets_the_target_exactly(target):
    plan = P.adaptive_plan(fake_scan(), target)
    assert plan.overall == pytest.approx(target)


def test_adaptive_plan_prunes_the_robust_layer_first():
    plan = P.adaptive_plan(fake_scan(), 0.45)
    assert plan.sparsities["a"] == pytest.approx(0.9) and plan.sparsities["b"] == pytest.approx(0.0)


def test_adaptive_plan_refuses_an_unreachable_target():
    with pytest.raises(ValueError, match="'target' parameter of adaptive_plan must be reachable"):
        P.adaptive_plan(fake_scan(), 0.95)


def test_apply_plan_sets_each_layer():
    model = P.apply_plan(small_cnn(), {"0": 0.25, "3": 0.75})
    report = P.sparsity_report(model).as_dict()
    assert report["0"] == pytest.approx(0.25, abs=0.02) and report["3"] == pytest.approx(0.75, abs=0.01)
    assert report["8"] == 0


def test_adaptive_plan_on_a_real_scan_reaches_the_overall_sparsity():
    model = small_cnn()
    scan = P.sensitivity_scan(model, lambda m: -float((m(X) - model(X)).abs().mean().detach()), [0.5, 0.8, 0.95])
    plan = P.adaptive_plan(scan, 0.8)
    pruned = P.apply_plan(P.clone_model(model), plan)
    assert P.sparsity(pruned) == pytest.approx(0.8, abs=0.01)


# --- copies, permanence ----------------------------------------------------------------------

def test_deepcopy_of_a_pruned_model_fails_but_clone_model_works():
    model = P.magnitude_prune(small_cnn(), 0.5)
    with pytest.raises(RuntimeError):
        copy.deepcopy(model)
    twin = P.clone_model(model)
    assert torch.equal(twin(X), model(X))
    assert torch.equal(twin[0].weight_mask, model[0].weight_mask)
    P.magnitude_prune(twin, 0.9)  # independent
    assert P.sparsity(model) == pytest.approx(0.5, abs=2e-3)
    assert "weight" in vars(model[0])  # the original's computed weight was put back


def test_remove_pruning_keeps_outputs_and_drops_orig_and_mask():
    model = P.magnitude_prune(small_cnn(), 0.5, structured=True)
    before = model(X)
    P.remove_pruning(model)
    names = [k for k, _ in model.named_parameters()] + [k for k, _ in model.named_buffers()]
    assert not any(k.endswith(("_orig", "_mask")) for k in names)
    assert not tprune.is_pruned(model)
    assert torch.allclose(model(X), before)
    assert P.sparsity(model) == pytest.approx(P.sparsity_report(model).sparsity)
    assert isinstance(model[0].weight, nn.Parameter)


# --- remove_channels -------------------------------------------------------------------------

@pytest.mark.parametrize("arch", [TeacherNet, StudentNet])
def test_remove_channels_same_outputs_fewer_params_and_flops(arch):
    torch.manual_seed(0)
    model = arch(num_classes=10, in_channels=1).eval()
    randomize_batchnorm(model)
    P.magnitude_prune(model, 0.5, structured=True)
    x = torch.randn(4, 1, 8, 8)
    small = P.remove_channels(model)
    assert torch.allclose(small(x), model(x), rtol=1e-4, atol=1e-5)
    assert count_parameters(small) < 0.5 * count_parameters(model)
    assert count_flops(small, x) < 0.5 * count_flops(model, x)
    assert not tprune.is_pruned(small)


def test_remove_channels_leaves_the_input_model_unchanged():
    model = P.magnitude_prune(small_cnn(), 0.5, structured=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    P.remove_channels(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model[0].weight_orig.shape[0] == 8 and tprune.is_pruned(model)


def test_remove_channels_slices_batchnorm_and_next_layer():
    small = P.remove_channels(P.magnitude_prune(small_cnn(), 0.5, structured=True))
    assert small[0].out_channels == 4 and small[1].num_features == 4 and small[1].running_mean.shape == (4,)
    assert small[3].in_channels == 4 and small[3].out_channels == 6
    assert small[8].in_features == 6 and small[8].out_features == 8 and small[10].in_features == 8
    assert small[10].out_features == 4


def test_remove_channels_on_an_unpruned_model_changes_nothing():
    model = small_cnn()
    small = P.remove_channels(model, example_input=X)
    assert count_parameters(small) == count_parameters(model)


def test_remove_channels_refuses_a_non_sequential_model():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Sigmoid(), nn.Conv2d(4, 2, 3))
    with pytest.raises(ValueError, match="must be a sequential CNN"):
        P.remove_channels(model)


def test_remove_channels_detects_a_forward_that_is_not_the_chain():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x):
            h = self.a(x)
            return self.b(h) + h  # a residual around b: the chain a -> b is not the whole story

    model = Skip()
    with torch.no_grad():
        model.a.weight[0] = 0
        model.a.bias[0] = 0
        model.b.weight[:, 0] = 1.0
    with pytest.raises(ValueError, match="remove_channels changed the outputs"):
        P.remove_channels(model, example_input=torch.randn(3, 4))


# --- recalibration, sizes, speed -------------------------------------------------------------

def test_recalibrate_batchnorm_updates_statistics_only():
    model = P.magnitude_prune(small_cnn(), 0.5)
    weights_before = {k: v.clone() for k, v in model.state_dict().items() if "running" not in k and "num_batches" not in k}
    mean_before = model[1].running_mean.clone()
    P.recalibrate_batchnorm(model, tiny_loader(), batches=2)
    assert not torch.equal(mean_before, model[1].running_mean)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights_before.items())
    assert model[1].momentum == 0.1 and not model.training


def test_sparse_state_dict_round_trip_and_sizes():
    model = P.magnitude_prune(small_cnn(), 0.9, scope="global")
    dense = P.remove_pruning(P.clone_model(model)).state_dict()
    restored = P.from_sparse_state_dict(P.to_sparse_state_dict(model))
    assert all(torch.equal(dense[k], restored[k]) for k in dense)
    sizes = P.size_on_disk(model)
    assert sizes.state_dict_bytes > 1.5 * sizes.dense_bytes  # orig + mask
    assert sizes.sparse_bytes < sizes.dense_bytes and sizes.zlib_bytes < sizes.dense_bytes


def test_compare_speed_reports_ratios_to_the_first_model():
    model = small_cnn()
    result = P.compare_speed({"a": model, "b": P.remove_channels(P.magnitude_prune(P.clone_model(model), 0.5,
                                                                                      structured=True))},
                             X, batch_sizes=(1, 3), threads=(1,), runs=2, rounds=1, warmup=0)
    assert len(result.rows) == 4
    assert result.row("b", 3, 1).flops_reduction > 1.5
    assert "speed-up" in repr(result)


def test_compare_speed_reports_the_range_the_rounds_allow():
    model = small_cnn()
    result = P.compare_speed({"a": model, "b": P.clone_model(model)}, X, batch_sizes=(2,), threads=(1,),
                             runs=3, rounds=3, warmup=0)
    for r in result.rows:
        assert len(r.round_medians_ms) == 3
        assert r.speedup_low <= r.speedup * (1 + 1e-9) and r.speedup <= r.speedup_high * (1 + 1e-9)
    assert "rounds allow" in repr(result)


def test_speed_row_judges_a_ratio_against_its_range():
    row = P.SpeedRow("m", 1, 1, 1.0, 2.0, 10, 4.0, (1.0, 1.1), 1.5, 2.5)
    assert row.judge() == "above" and row.judge(2.0) == "within noise" and row.judge(row.flops_reduction) == "below"


def test_speed_row_judge_widens_the_band_by_an_identical_control():
    row = P.SpeedRow("m", 1, 1, 1.0, 1.12, 10, 1.0, (1.0, 1.1), 1.05, 1.2)
    control = P.SpeedRow("dense again", 1, 1, 1.0, 1.0, 10, 1.0, (1.0, 1.1), 0.9, 1.1)
    assert row.judge() == "above"  # outside its own range ...
    assert row.judge(control=control) == "within noise"  # ... but an identical model strays as far
    assert row.judge(0.8, control=control) == "above" and row.judge(1.5, control=control) == "below"


def test_sparsity_sweep_leaves_the_model_unpruned():
    model = small_cnn()
    sweep = P.sparsity_sweep(model, lambda m: P.sparsity(m), [0.5], methods=["random", "structured"])
    assert sweep.metrics["random"][0] == pytest.approx(0.5, abs=2e-3)
    assert not tprune.is_pruned(model)


# --- argument errors -------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, match", [
    (lambda: P.magnitude_prune(small_cnn(), 1.5), ValueError,
     r"The 'sparsity' parameter of magnitude_prune must be a float in the range \[0, 1\]\. Got 1\.5 instead\."),
    (lambda: P.magnitude_prune(small_cnn(), "0.5"), TypeError, "'sparsity' parameter of magnitude_prune"),
    (lambda: P.magnitude_prune(small_cnn(), 1), None, None),  # an int 1 means 100%, never "one weight"
    (lambda: P.magnitude_prune(small_cnn(), 0.5, scope="net"), ValueError, "'scope' parameter of magnitude_prune"),
    (lambda: P.magnitude_prune(small_cnn(), 0.5, structured=1), TypeError, "'structured' parameter"),
    (lambda: P.magnitude_prune("model", 0.5), TypeError, "'model' parameter of magnitude_prune"),
    (lambda: P.magnitude_prune(small_cnn(), 0.5, include=nn.Conv2d), TypeError, "'include' parameter"),
    (lambda: P.magnitude_prune(nn.ReLU(), 0.5), ValueError, "must contain at least one layer"),
    (lambda: P.random_prune(small_cnn(), -0.1), ValueError, "'sparsity' parameter of random_prune"),
    (lambda: P.random_prune(small_cnn(), 0.5, seed=-1), ValueError, "'seed' parameter of random_prune"),
    (lambda: P.sparsity([0, 1]), TypeError, "'model_or_tensor' parameter of sparsity"),
    (lambda: P.sparsity(torch.tensor([])), ValueError, "at least one element"),
    (lambda: P.sparsity_report(3), TypeError, "'model' parameter of sparsity_report"),
    (lambda: P.polynomial_schedule(0.0, 1.2, 5), ValueError, "'final' parameter of polynomial_schedule"),
    (lambda: P.polynomial_schedule(0.5, 0.2, 5), ValueError, "'final' parameter of polynomial_schedule must be >="),
    (lambda: P.polynomial_schedule(0.0, 0.9, 0), ValueError, "'steps' parameter of polynomial_schedule"),
    (lambda: P.polynomial_schedule(0.0, 0.9, 2.0), TypeError, "'steps' parameter of polynomial_schedule"),
    (lambda: P.polynomial_schedule(0.0, 0.9, 3, power=0), ValueError, "'power' parameter"),
    (lambda: P.gradual_prune(small_cnn(), 0.9, steps=0), ValueError, "'steps' parameter of gradual_prune"),
    (lambda: P.gradual_prune(small_cnn(), 0.9, steps=2, finetune=3), TypeError, "'finetune' parameter"),
    (lambda: P.gradual_prune(small_cnn(), 0.2, steps=2, initial_sparsity=0.5), ValueError,
     "'final_sparsity' parameter of gradual_prune must be >="),
    (lambda: P.finetuner([1, 2]), TypeError, "'train_loader' parameter of finetuner"),
    (lambda: P.sensitivity_scan(small_cnn(), None, [0.5]), TypeError, "'evaluate_fn' parameter"),
    (lambda: P.sensitivity_scan(small_cnn(), lambda m: 0.0, []), ValueError, "'sparsities' parameter"),
    (lambda: P.sensitivity_scan(small_cnn(), lambda m: 0.0, [2.0]), ValueError, "'sparsities' parameter"),
    (lambda: P.sensitivity_scan(small_cnn(), lambda m: 0.0, [0.5], layers=["nope"]), ValueError,
     "'layers' parameter of sensitivity_scan must be one of"),
    (lambda: P.adaptive_plan({"a": 1}, 0.5), TypeError, "'scan' parameter of adaptive_plan"),
    (lambda: P.adaptive_plan(fake_scan(), 1.1), ValueError, "'target' parameter of adaptive_plan"),
    (lambda: P.apply_plan(small_cnn(), {"nope": 0.5}), ValueError, "'plan' parameter of apply_plan"),
    (lambda: P.apply_plan(small_cnn(), {"0": 2.0}), ValueError, "parameter of apply_plan must be a float"),
    (lambda: P.prune_with(small_cnn(), 0.5, "magic"), ValueError, "'method' parameter of prune_with"),
    (lambda: P.clone_model(None), TypeError, "'model' parameter of clone_model"),
    (lambda: P.remove_pruning(None), TypeError, "'model' parameter of remove_pruning"),
    (lambda: P.remove_channels(small_cnn(), example_input=[1]), TypeError, "'example_input' parameter"),
    (lambda: P.remove_channels(nn.Sequential(nn.Conv2d(1, 2, 3, groups=1), nn.Conv2d(2, 2, 3, groups=2))),
     ValueError, "ungrouped convolutions"),
    (lambda: P.recalibrate_batchnorm(small_cnn(), [X]), TypeError, "'loader' parameter of recalibrate_batchnorm"),
    (lambda: P.recalibrate_batchnorm(small_cnn(), tiny_loader(), batches=0), ValueError, "'batches' parameter"),
    (lambda: P.compare_speed({}, X), ValueError, "'models' parameter of compare_speed"),
    (lambda: P.compare_speed({"a": small_cnn()}, X, runs=0), ValueError, "'runs' parameter of compare_speed"),
    (lambda: P.sparsity_sweep(small_cnn(), lambda m: 0.0, [0.5], methods=["x"]), ValueError,
     "'methods' parameter of sparsity_sweep"),
])
def test_argument_errors(call, exc, match):
    if exc is None:
        model = call()
        assert math.isclose(P.sparsity(model), 1.0)
        return
    with pytest.raises(exc, match=match):
        call()


# --- one calibration setting for the lesson and the explorer ----------------------------------

def test_the_explorer_recalibrates_on_as_many_batches_as_the_lesson(monkeypatch):
    from coursekit import batchnorm
    from coursekit.widgets import sparsity_view

    seen, real = [], batchnorm.recalibrate_batchnorm
    monkeypatch.setattr(batchnorm, "recalibrate_batchnorm",
                        lambda model, loader, *, batches=None: seen.append(batches) or real(model, loader, batches=batches))
    sparsity_view(small_cnn(), tiny_loader(), 0.5, calibration_loader=tiny_loader())
    assert seen == [P.CALIBRATION_BATCHES]
