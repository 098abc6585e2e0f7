from dataclasses import dataclass
from typing import NamedTuple

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit import seed_everything
from coursekit.train import EvalResult, History, eval_mode, evaluate, fit, predict


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


def _plain(seed=0, batchnorm=False):
    torch.manual_seed(seed)
    layers = [nn.Linear(4, 16)] + ([nn.BatchNorm1d(16)] if batchnorm else []) + [nn.ReLU(), nn.Linear(16, 2)]
    return nn.Sequential(*layers)


def _fixed(batch_size, n=192):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)


def _sgd(p):
    return torch.optim.SGD(p, lr=0.1)


def _max_diff(a, b):
    return max((pa - pb).abs().max().item() for pa, pb in zip(a.parameters(), b.parameters()))


def test_accumulating_4_micro_batches_equals_one_batch_4_times_larger():
    small, large = _plain(), _plain()
    fit(small, _fixed(16), epochs=2, accumulate_steps=4, optimizer=_sgd, progress=False)
    fit(large, _fixed(64), epochs=2, accumulate_steps=1, optimizer=_sgd, progress=False)
    assert _max_diff(small, large) < 1e-5
    assert _max_diff(small, _plain()) > 1e-3  # it trained at all


def test_without_accumulation_micro_batches_differ():
    small, large = _plain(), _plain()
    fit(small, _fixed(16), epochs=2, optimizer=_sgd, progress=False)
    fit(large, _fixed(64), epochs=2, optimizer=_sgd, progress=False)
    assert _max_diff(small, large) > 1e-3  # 12 steps are not 3 steps


def test_batchnorm_breaks_the_accumulation_equality():
    small, large = _plain(batchnorm=True), _plain(batchnorm=True)
    fit(small, _fixed(16), epochs=2, accumulate_steps=4, optimizer=_sgd, progress=False)
    fit(large, _fixed(64), epochs=2, accumulate_steps=1, optimizer=_sgd, progress=False)
    assert _max_diff(small, large) > 1e-4  # statistics of 16 examples are not those of 64


def test_final_incomplete_group_steps_with_the_mean_of_its_losses():
    # 80 examples in batches of 16 = 5 batches; k=4 -> a group of 4, then a group of 1 (weight 1/1)
    a, b = _plain(), _plain()
    fit(a, _fixed(16, n=80), epochs=1, accumulate_steps=4, optimizer=_sgd, progress=False)
    fit(b, DataLoader(_fixed(16, n=80).dataset, batch_sampler=[list(range(64)), list(range(64, 80))]),
        epochs=1, optimizer=_sgd, progress=False)
    assert _max_diff(a, b) < 1e-5


def test_optimizer_must_return_an_optimizer():
    with pytest.raises(TypeError, match="'optimizer' parameter of fit must be a callable params -> "):
        fit(_plain(), _fixed(16), epochs=1, optimizer=lambda p: "sgd", progress=False)


def test_bfloat16_autocast_trains_on_cpu():
    model = _plain()
    history = fit(model, _fixed(32), epochs=2, autocast=torch.bfloat16, optimizer=_sgd, progress=False)
    assert all(torch.isfinite(torch.tensor(history.train_loss)))
    assert model[0].weight.dtype == torch.float32  # the weights stay in full precision


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
    ({"epochs": 1, "optimizer": "sgd"}, TypeError, "'optimizer' parameter of fit must be a callable"),
    ({"epochs": 1, "accumulate_steps": 0}, ValueError, "'accumulate_steps' parameter of fit must be an int"),
    ({"epochs": 1, "autocast": torch.float32}, ValueError,
     r"The 'autocast' parameter of fit must be one of \{None, torch.bfloat16, torch.float16\}. Got torch.float32"),
    ({"epochs": 1, "device": "gpu0"}, ValueError, "'device' parameter of fit"),
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
        model = StudentNet()
        runs.append(fit(model, loader, epochs=1, seed=3, progress=False).train_loss)
    assert runs[0] == runs[1]


def test_predict_matches_the_model_in_order_for_tensor_dataset_and_loader():
    model = _plain()
    loader = _toy(n=50)  # shuffled: predict must still follow dataset order
    x = loader.dataset.tensors[0]
    model.train()
    expected = model.eval()(x).detach()
    model.train()
    for data in (x, loader.dataset, loader):
        got = predict(model, data, batch_size=7)
        assert got.shape == (50, 2) and torch.allclose(got, expected, atol=1e-6)
    assert model.training  # mode restored


def test_evaluate_and_predict_accept_a_plain_callable():
    model = _plain().eval()
    loader = _toy(n=40)

    def fn(x):
        return model(x)

    a, b = evaluate(fn, loader), evaluate(model, loader)
    assert a.accuracy == b.accuracy and a.n == b.n and a.loss == pytest.approx(b.loss, rel=1e-6)
    assert torch.allclose(predict(fn, loader), predict(model, loader))
    with pytest.raises(TypeError, match="'model' parameter of predict must be a callable"):
        predict(3, loader)
    with pytest.raises(ValueError, match="'data' parameter of predict must hold at least one example"):
        predict(model, torch.zeros(0, 4))


def test_eval_mode_restores_and_ignores_plain_functions():
    model = _model().train()
    with eval_mode(model):
        assert not model.training
    assert model.training
    with pytest.raises(RuntimeError):
        with eval_mode(model):
            raise RuntimeError("boom")
    assert model.training
    with eval_mode(len) as f:  # no training mode: nothing to do
        assert f is len


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
def test_fit_evaluate_predict_on_cuda():
    model = _plain().cuda()
    loader = _fixed(32)  # CPU batches: fit moves them
    history = fit(model, loader, loader, epochs=2, optimizer=_sgd, progress=False)
    assert history.val_accuracy[-1] > 0.6
    assert evaluate(model, loader).n == 192
    assert predict(model, loader).device.type == "cpu"
    assert predict(model, loader.dataset.tensors[0].cuda()).device.type == "cuda"


@cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_autocast_on_cuda(dtype):
    model = _plain().cuda()
    history = fit(model, _fixed(32), epochs=2, autocast=dtype, optimizer=_sgd, progress=False)
    assert all(torch.isfinite(torch.tensor(history.train_loss)))
