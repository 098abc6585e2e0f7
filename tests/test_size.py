import pytest
import torch
from torch import nn

from coursekit import prune as P
from coursekit.size import dense_state_dict, file_size, saved_bytes, size_on_disk


def _pruned():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    return P.magnitude_prune(model, 0.8)


def test_dense_state_dict_is_what_remove_pruning_saves():
    model = _pruned()
    folded = P.remove_pruning(P.clone_model(model)).state_dict()
    dense = dense_state_dict(model)
    assert set(dense) == set(folded) and all(torch.equal(dense[k], folded[k]) for k in folded)
    assert any(k.endswith("_mask") for k in model.state_dict())  # the model itself is unchanged


def test_size_on_disk_orders_the_four_formats():
    sizes = size_on_disk(_pruned())
    assert sizes.state_dict_bytes > 1.5 * sizes.dense_bytes  # weight_orig + weight_mask
    assert sizes.sparse_bytes < sizes.dense_bytes and sizes.zlib_bytes < sizes.dense_bytes
    assert sizes.dense_bytes == len(saved_bytes(P.remove_pruning(P.clone_model(_pruned())).state_dict()))


def test_file_size(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"x" * 123)
    assert file_size(path) == 123 and file_size(str(path)) == 123
    with pytest.raises(FileNotFoundError, match="'path' parameter of file_size must name an existing file"):
        file_size(tmp_path / "missing.pt")
    with pytest.raises(TypeError, match="'path' parameter of file_size"):
        file_size(3)
