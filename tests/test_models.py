import pytest
import torch
from torch import nn

from coursekit.models import StudentNet, TeacherNet, count_parameters, model_size_bytes


def _seed_teacher(num_classes=10):
    """The seed document's TeacherModel, layer for layer (3 input channels)."""
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(
        *block(3, 64), *block(64, 64), nn.MaxPool2d(2), *block(64, 128), *block(128, 128), nn.MaxPool2d(2),
        *block(128, 256), *block(256, 256), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(256, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, num_classes))


def _seed_student(num_classes=10):
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
    return nn.Sequential(
        *block(3, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
        *block(64, 128), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, num_classes))


def _numel(m):
    return sum(p.numel() for p in m.parameters())


def test_parameter_counts_equal_the_seed():
    assert count_parameters(TeacherNet(in_channels=3)) == _numel(_seed_teacher())
    assert count_parameters(StudentNet(in_channels=3)) == _numel(_seed_student())


def test_layer_for_layer_like_the_seed():
    for ours, seed in ((TeacherNet(in_channels=3), _seed_teacher()), (StudentNet(in_channels=3), _seed_student())):
        kinds = [type(m) for m in list(ours.features) + list(ours.classifier)]
        assert kinds == [type(m) for m in seed]


@pytest.mark.parametrize("cls", [TeacherNet, StudentNet])
@pytest.mark.parametrize("channels, side", [(1, 8), (3, 8), (3, 32), (1, 20), (3, 64)])
def test_forward_shapes(cls, channels, side):
    model = cls(num_classes=7, in_channels=channels).eval()
    assert model(torch.zeros(2, channels, side, side)).shape == (2, 7)


@pytest.mark.parametrize("cls", [TeacherNet, StudentNet])
def test_too_small_or_wrong_channels_is_a_clear_error(cls):
    model = cls(in_channels=1)
    with pytest.raises(ValueError, match=r"expects images shaped \(batch, 1, H, W\) with H, W >= 8"):
        model(torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="Got a tensor of shape"):
        model(torch.zeros(1, 3, 8, 8))


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"num_classes": 1}, ValueError, "'num_classes' parameter of TeacherNet"),
    ({"in_channels": 0}, ValueError, "'in_channels' parameter of TeacherNet"),
    ({"num_classes": 2.0}, TypeError, "'num_classes'"),
])
def test_constructor_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        TeacherNet(**kwargs)


def test_count_parameters_nonzero_only():
    layer = nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight[0].zero_()
    assert count_parameters(layer) == 15
    assert count_parameters(layer, nonzero_only=True) == 15 - 4 - int((layer.bias == 0).sum())


def test_count_parameters_of_a_pruned_layer_counts_the_effective_weight():
    from torch.nn.utils import prune

    layer = nn.Linear(10, 10)
    prune.l1_unstructured(layer, "weight", amount=0.5)
    assert count_parameters(layer) == 110
    assert count_parameters(layer, nonzero_only=True) == 50 + int((layer.bias != 0).sum())


def test_count_parameters_rejects_non_modules():
    with pytest.raises(TypeError, match="'model' parameter of count_parameters must be a torch.nn.Module"):
        count_parameters("teacher")
    with pytest.raises(TypeError, match="'nonzero_only'"):
        count_parameters(nn.Linear(2, 2), nonzero_only=1)


def test_model_size_bytes_tracks_the_parameters():
    small, big = model_size_bytes(nn.Linear(10, 10)), model_size_bytes(nn.Linear(100, 100))
    assert small >= 4 * 110 and big >= 4 * 10100
    assert 4 * 10100 <= big < 4 * 10100 + 4096
    with pytest.raises(TypeError, match="'model' parameter of model_size_bytes"):
        model_size_bytes(None)


def test_in_channels_defaults_to_the_digits_one_channel():
    assert TeacherNet().in_channels == StudentNet().in_channels == 1
