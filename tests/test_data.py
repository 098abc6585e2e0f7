import numpy as np
import pytest
import torch

from coursekit.data import available_datasets, is_augmented, load_dataset, make_loaders


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def test_shapes_dtypes_and_range(digits):
    for part in (digits.train, digits.val, digits.test):
        x, y = part.tensors
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.shape[1:] == (1, 8, 8)
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert digits.input_shape == (1, 8, 8)
    assert digits.num_classes == 10 and len(digits.class_names) == 10


def test_split_sizes_cover_the_whole_dataset(digits):
    total = sum(len(getattr(digits, n)) for n in ("train", "val", "test"))
    assert total == 1797
    assert len(digits.test) == pytest.approx(0.2 * 1797, abs=10)
    assert len(digits.val) == pytest.approx(0.1 * 1797, abs=10)


def test_split_indices_are_disjoint():
    from coursekit.data import _stratified_split

    labels = np.repeat(np.arange(10), 50)
    tr, va, te = _stratified_split(labels, (0.1, 0.2), seed=3)
    assert not set(tr) & set(va) and not set(tr) & set(te) and not set(va) & set(te)
    assert len(tr) + len(va) + len(te) == len(labels)


def test_stratified(digits):
    full = np.bincount(np.concatenate([getattr(digits, n).tensors[1].numpy() for n in ("train", "val", "test")]))
    test_counts = np.bincount(digits.test.tensors[1].numpy(), minlength=10)
    assert np.allclose(test_counts / test_counts.sum(), full / full.sum(), atol=0.01)


def test_deterministic_for_a_seed_and_different_across_seeds():
    a, b, c = load_dataset(seed=1), load_dataset(seed=1), load_dataset(seed=2)
    assert torch.equal(a.test.tensors[0], b.test.tensors[0])
    assert not torch.equal(a.test.tensors[0], c.test.tensors[0])


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match=r"'name' parameter of load_dataset must be one of \{'digits'\}. Got 'mnist'"):
        load_dataset("mnist")
    assert available_datasets() == ["digits"]


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"seed": -1}, ValueError, "'seed'"),
    ({"seed": 1.5}, TypeError, "'seed'"),
    ({"val_fraction": -0.1}, ValueError, "'val_fraction'"),
    ({"test_fraction": 0.0}, ValueError, "'test_fraction'"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, ValueError, "add up to less than 1"),
])
def test_load_dataset_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        load_dataset(**kwargs)


def test_loaders_shuffle_deterministically(digits):
    first = next(iter(make_loaders(digits, 32, seed=5).train))[1]
    again = next(iter(make_loaders(digits, 32, seed=5).train))[1]
    other = next(iter(make_loaders(digits, 32, seed=6).train))[1]
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert len(first) == 32


def test_val_and_test_loaders_keep_order(digits):
    loaders = make_loaders(digits)
    ys = torch.cat([y for _, y in loaders.test])
    assert torch.equal(ys, digits.test.tensors[1])


def test_augmentation_shifts_by_at_most_one_pixel(digits):
    loaders = make_loaders(digits, 64, seed=0, augment=True)
    assert is_augmented(loaders.train) and not is_augmented(make_loaders(digits).train)
    x, y = next(iter(loaders.train))
    assert x.shape == (64, 1, 8, 8)
    # every augmented image equals some shift of an original image with the same label
    originals = digits.train.tensors[0]
    padded = torch.nn.functional.pad(originals, (1, 1, 1, 1))
    shifts = torch.stack([padded[:, :, dy:dy + 8, dx:dx + 8] for dy in range(3) for dx in range(3)], 1)
    for img in x[:8]:
        assert (shifts - img).abs().flatten(2).amax(-1).min() < 1e-6


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"batch_size": 0}, ValueError, "'batch_size' parameter of make_loaders must be an int in the range \\[1, inf\\)"),
    ({"augment": "yes"}, TypeError, "'augment'"),
])
def test_make_loaders_rejects_bad_arguments(digits, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make_loaders(digits, **kwargs)


def test_make_loaders_rejects_non_splits():
    with pytest.raises(TypeError, match="'splits' parameter of make_loaders must be a DatasetSplits"):
        make_loaders([1, 2, 3])


def test_repr_is_readable(digits):
    assert "train=1259" in repr(digits) and "test=359" in repr(digits)
