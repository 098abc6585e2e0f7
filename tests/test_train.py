from dataclasses import dataclass
from typing import NamedTuple

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit import seed_everything
from coursekit.train import EvalResult, History, evaluate, fit


def _toy(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))


def test_fit_learns_and_records_history():
    loader = _toy()
    model = _model()
    before = evaluate(model, loader).loss
    history = fit(model, loader, loader, epochs=15, lr=1e-2, progress=False)
    assert isinstance(history, History) and history.epochs == 15
    assert len(history.val_accuracy) == len(history.val_loss) == len(history.epoch_seconds) == 15
    assert history.train_loss[-1] < history.train_loss[0]
    assert evaluate(model, loader).loss < before
    assert history.val_accuracy[-1] > 0.9
    assert not model.training  # fit leaves the model ready for inference


def test_fit_without_val_loader_records_no_val_metrics():
    history = fit(_model(), _toy(), epochs=2, progress=False)
    assert history.val_loss == [] and history.val_accuracy == []


def test_same_seed_same_result_even_with_dropout_and_shuffling():
    loader = _toy()
    a, b = _model(), _model()
    ha = fit(a, loader, epochs=3, seed=7, progress=False)
    hb = fit(b, loader, epochs=3, seed=7, progress=False)
    assert ha.train_loss == hb.train_loss
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    c = _model()
    hc = fit(c, loader, epochs=3, seed=8, progress=False)
    assert hc.train_loss != ha.train_loss


class Parts(NamedTuple):
    total: torch.Tensor
    hard: torch.Tensor
    extra: torch.Tensor


@dataclass
class PartsDC:
    total: torch.Tensor
    other: torch.Tensor


def test_custom_loss_components_and_extra_batch_tensors():
    x = torch.randn(40, 4)
    y = (x[:, 0] > 0).long()
    weights = torch.rand(40)
    loader = DataLoader(TensorDataset(x, y, weights), batch_size=8)
    seen = []

    def loss_fn(logits, targets, w):
        seen.append(w.shape)
        ce = nn.functional.cross_entropy(logits, targets, reduction="none")
        return Parts(total=(ce * w).mean(), hard=ce.mean(), extra=w.mean())

    history = fit(_model(), loader, epochs=2, loss_fn=loss_fn, progress=False)
    assert set(history.components) == {"hard", "extra"}
    assert len(history.components["hard"]) == 2
    assert history.components["extra"][0] == pytest.approx(float(weights.mean()), rel=1e-5)
    assert seen[0] == (8,)
    h2 = fit(_model(), loader, epochs=1, loss_fn=lambda lg, t, w: PartsDC(nn.functional.cross_entropy(lg, t), w.sum()),
             progress=False)
    assert "other" in h2.components


def test_on_step_runs_after_every_optimizer_step():
    steps = []
    fit(_model(), _toy(n=64), epochs=2, on_step=lambda m, s: steps.append(s), progress=False)
    assert steps == list(range(1, 9))  # 64 / 16 = 4 steps per epoch


def test_bad_loss_result_is_explained():
    with pytest.raises(TypeError, match="must return a scalar tensor, or a dataclass/NamedTuple"):
        fit(_model(), _toy(), epochs=1, loss_fn=lambda *a: 1.0, progress=False)


def test_diverging_loss_names_the_learning_rate():
    with pytest.raises(FloatingPointError, match="try a smaller 'lr'"):
        fit(_model(), _toy(), epochs=1, loss_fn=lambda lg, t: lg.sum() * float("inf"), progress=False)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"epochs": 0}, ValueError, r"The 'epochs' parameter of fit must be an int in the range \[1, inf\). Got 0 instead."),
    ({"epochs": 2.5}, TypeError, "'epochs' parameter of fit must be an int"),
    ({"epochs": 1, "lr": -0.1}, ValueError, r"The 'lr' parameter of fit must be a float in the range \(0, inf\). Got -0.1"),
    ({"epochs": 1, "lr": 0}, ValueError, "'lr'"),
    ({"epochs": 1, "seed": -3}, ValueError, "'seed'"),
    ({"epochs": 1, "loss_fn": 3}, TypeError, "'loss_fn' parameter of fit must be a callable"),
    ({"epochs": 1, "on_step": "x"}, TypeError, "'on_step'"),
    ({"epochs": 1, "progress": "no"}, TypeError, "'progress'"),
])
def test_fit_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fit(_model(), _toy(), **kwargs)


def test_fit_rejects_wrong_objects():
    with pytest.raises(TypeError, match="'model' parameter of fit must be a torch.nn.Module"):
        fit("model", _toy(), epochs=1)
    with pytest.raises(TypeError, match="'train_loader' parameter of fit must be a torch.utils.data.DataLoader"):
        fit(_model(), [1, 2], epochs=1)


def test_progress_bar_only_when_asked(capsys):
    fit(_model(), _toy(n=32), epochs=1, progress=False)
    assert capsys.readouterr().err == ""
    fit(_model(), _toy(n=32), epochs=1, progress=True)
    assert "fit Sequential" in capsys.readouterr().err


def test_evaluate_accuracy_loss_and_mode_restored():
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    x = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [2.0, 0.0]])
    y = torch.tensor([0, 1, 1, 0])  # the third is wrong
    model.train()
    result = evaluate(model, DataLoader(TensorDataset(x, y), batch_size=3))
    assert isinstance(result, EvalResult)
    assert result.accuracy == pytest.approx(0.75) and result.n == 4
    assert result.loss == pytest.approx(float(nn.functional.cross_entropy(model(x), y).detach()), rel=1e-5)
    assert model.training
    assert "75.00%" in repr(result)


def test_evaluate_rejects_empty_and_wrong_inputs():
    empty = DataLoader(TensorDataset(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)))
    with pytest.raises(ValueError, match="'loader' parameter of evaluate must yield at least one example"):
        evaluate(nn.Linear(2, 2), empty)
    with pytest.raises(TypeError, match="'loader' parameter of evaluate"):
        evaluate(nn.Linear(2, 2), None)


def test_seed_everything():
    seed_everything(3)
    a = torch.rand(3)
    seed_everything(3)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(ValueError, match="'seed' parameter of seed_everything"):
        seed_everything(-1)


def test_same_seed_same_augmented_run():
    from coursekit.data import load_dataset, make_loaders
    from coursekit.models import StudentNet

    loader = make_loaders(load_dataset(), 256, augment=True).train
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = StudentNet(in_channels=1)
        runs.append(fit(model, loader, epochs=1, seed=3, progress=False).train_loss)
    assert runs[0] == runs[1]
