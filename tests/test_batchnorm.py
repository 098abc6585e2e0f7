import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit.batchnorm import fold_batchnorm, fold_model_batchnorm, recalibrate_batchnorm
from coursekit.models import TeacherNet


def _trained_looking(model):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model


def test_fold_batchnorm_equals_conv_then_bn_in_eval_mode():
    torch.manual_seed(0)
    for bias in (True, False):
        conv = nn.Conv2d(3, 5, 3, padding=1, stride=2, bias=bias)
        bn = _trained_looking(nn.Sequential(nn.BatchNorm2d(5)))[0].eval()
        x = torch.randn(4, 3, 9, 9)
        folded = fold_batchnorm(conv, bn)
        assert isinstance(folded, nn.Conv2d) and folded is not conv
        assert torch.allclose(folded(x), bn(conv(x)), atol=1e-5)


def test_fold_model_batchnorm_on_the_real_teacher():
    torch.manual_seed(0)
    teacher = _trained_looking(TeacherNet()).train()
    folded = fold_model_batchnorm(teacher)
    assert teacher.training  # the original is unchanged
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in teacher.modules())
    x = torch.randn(8, 1, 8, 8)
    assert torch.allclose(folded(x), teacher.eval()(x), atol=1e-5)


def test_fold_batchnorm_rejects_mismatched_channels_and_wrong_types():
    with pytest.raises(ValueError, match=r"The 'bn' parameter of fold_batchnorm must be a BatchNorm2d over "
                                         r"the convolution's 5 output channels. Got a BatchNorm2d over 4"):
        fold_batchnorm(nn.Conv2d(3, 5, 3), nn.BatchNorm2d(4))
    with pytest.raises(TypeError, match="'conv' parameter of fold_batchnorm must be a torch.nn.Conv2d"):
        fold_batchnorm(nn.Linear(3, 5), nn.BatchNorm2d(5))
    with pytest.raises(ValueError, match="with running statistics"):
        fold_batchnorm(nn.Conv2d(3, 5, 3), nn.BatchNorm2d(5, track_running_stats=False))


def test_recalibrate_batchnorm_matches_the_data_statistics_and_restores_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 1), nn.BatchNorm2d(3)).train()
    x = torch.randn(64, 1, 4, 4) * 3 + 1
    recalibrate_batchnorm(model, DataLoader(TensorDataset(x, torch.zeros(64)), batch_size=64))
    with torch.no_grad():
        h = model[0](x)
    assert torch.allclose(model[1].running_mean, h.mean(dim=(0, 2, 3)), atol=1e-5)
    assert model.training
    with pytest.raises(ValueError, match="'batches' parameter of recalibrate_batchnorm"):
        recalibrate_batchnorm(model, DataLoader(TensorDataset(x)), batches=0)
