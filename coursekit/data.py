"""Datasets, deterministic stratified splits and loaders.

The default dataset is scikit-learn's bundled handwritten digits: 1,797 real 8x8 grey images of
the digits 0-9 that ship inside scikit-learn, so nothing is ever downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from coursekit._validate import _fail, check_choice, check_float, check_int, check_type

__all__ = [
    "DatasetSplits", "LabelSplit", "Loaders", "available_datasets", "is_augmented", "load_dataset",
    "make_loaders", "split_labels", "without_class",
]


@dataclass(frozen=True, repr=False)
class DatasetSplits:
    """Train / validation / test splits of one dataset."""

    name: str
    train: TensorDataset  # images (N, C, H, W) float32 in [0, 1], labels (N,) int64
    val: TensorDataset
    test: TensorDataset
    num_classes: int
    input_shape: tuple  # (C, H, W) of one image
    class_names: tuple
    seed: int  # the seed that chose the split

    def __repr__(self) -> str:
        return (
            f"DatasetSplits({self.name!r}, train={len(self.train)}, val={len(self.val)}, "
            f"test={len(self.test)}, input_shape={self.input_shape}, "
            f"num_classes={self.num_classes}, seed={self.seed})"
        )


class Loaders(NamedTuple):
    train: DataLoader
    val: DataLoader
    test: DataLoader


def _digits() -> tuple[np.ndarray, np.ndarray, tuple]:
    from sklearn.datasets import load_digits

    bunch = load_digits()  # bundled with scikit-learn: read from its package, no download
    images = bunch.images.astype(np.float32) / 16.0  # pixel values 0..16 -> [0, 1]
    return images[:, None, :, :], bunch.target.astype(np.int64), tuple(str(c) for c in range(10))


# name -> function returning (images (N, C, H, W) float32, labels (N,) int64, class names)
_REGISTRY: dict[str, Callable[[], tuple[np.ndarray, np.ndarray, tuple]]] = {"digits": _digits}


def available_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`."""
    return sorted(_REGISTRY)


def _stratified_split(labels: np.ndarray, fractions: tuple[float, float], seed: int):
    """Split indices into (train, val, test), keeping class proportions in every part."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = int(round(fractions[0] * len(idx)))
        n_test = int(round(fractions[1] * len(idx)))
        parts[1].extend(idx[:n_val])
        parts[2].extend(idx[n_val:n_val + n_test])
        parts[0].extend(idx[n_val + n_test:])
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def load_dataset(
    name: str = "digits", *, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.2
) -> DatasetSplits:
    """Load a registered dataset and split it into stratified, disjoint train/val/test parts.

    The split depends only on ``seed``: the same seed always gives the same split.
    """
    func = "load_dataset"
    check_type("name", name, func, str)
    check_choice("name", name, func, available_datasets())
    check_int("seed", seed, func, low=0)
    val_fraction = check_float("val_fraction", val_fraction, func, low=0.0, high=1.0, closed="left")
    test_fraction = check_float("test_fraction", test_fraction, func, low=0.0, high=1.0, closed="neither")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            "The 'val_fraction' and 'test_fraction' parameters of load_dataset must add up to less "
            f"than 1 so that some training data is left. Got {val_fraction} + {test_fraction} instead."
        )
    images, labels, class_names = _REGISTRY[name]()
    train_idx, val_idx, test_idx = _stratified_split(labels, (val_fraction, test_fraction), seed)

    def subset(idx: np.ndarray) -> TensorDataset:
        return TensorDataset(torch.from_numpy(images[idx]), torch.from_numpy(labels[idx]))

    return DatasetSplits(
        name=name, train=subset(train_idx), val=subset(val_idx), test=subset(test_idx),
        num_classes=len(class_names), input_shape=tuple(images.shape[1:]),
        class_names=class_names, seed=seed,
    )


class _ShiftCollate:
    """Collate a batch, then shift each image by up to ``max_shift`` pixels (zeros fill in)."""

    def __init__(self, max_shift: int, generator: torch.Generator):
        self.max_shift = max_shift
        self.generator = generator

    def __call__(self, batch):
        x, y, *rest = (torch.stack(t) for t in zip(*batch))
        m = self.max_shift
        padded = torch.nn.functional.pad(x, (m, m, m, m))  # (B, C, H + 2m, W + 2m)
        h, w = x.shape[-2:]
        offsets = torch.randint(0, 2 * m + 1, (len(x), 2), generator=self.generator)
        shifted = torch.stack([
            padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offsets.tolist())
        ])
        return (shifted, y, *rest)


def make_loaders(
    splits: DatasetSplits, batch_size: int = 64, *, seed: int = 0, augment: bool = False
) -> Loaders:
    """Train, validation and test DataLoaders for ``splits``.

    The training loader is shuffled by a generator seeded with ``seed``. ``augment=True`` shifts
    each training image by up to one pixel in each direction (new shifts every epoch).
    """
    func = "make_loaders"
    check_type("splits", splits, func, DatasetSplits, "a DatasetSplits from load_dataset")
    check_int("batch_size", batch_size, func, low=1)
    check_int("seed", seed, func, low=0)
    check_type("augment", augment, func, bool)
    shuffle_gen = torch.Generator().manual_seed(seed)
    collate = _ShiftCollate(1, torch.Generator().manual_seed(seed + 1)) if augment else None
    train = DataLoader(splits.train, batch_size=batch_size, shuffle=True, generator=shuffle_gen,
                       collate_fn=collate)
    val = DataLoader(splits.val, batch_size=256)
    test = DataLoader(splits.test, batch_size=256)
    return Loaders(train, val, test)


def is_augmented(loader: DataLoader) -> bool:
    """True when ``loader`` was made by :func:`make_loaders` with ``augment=True``.

    Distillation uses this to decide whether the teacher's logits can be computed once and reused
    (same images every epoch) or must be recomputed for every batch (images change).
    """
    return isinstance(loader.collate_fn, _ShiftCollate)


# --------------------------------------------------------------------------------------------
# Label subsets (lesson 01): few labels, an omitted class
# --------------------------------------------------------------------------------------------

def _check_labelled_dataset(dataset, func: str) -> tuple[torch.Tensor, torch.Tensor]:
    check_type("dataset", dataset, func, TensorDataset, "a TensorDataset of (images, labels)")
    if len(dataset.tensors) != 2:
        _fail("dataset", func, "a TensorDataset of exactly (images, labels)", dataset,
              got=f"a TensorDataset of {len(dataset.tensors)} tensors")
    return dataset.tensors[0], dataset.tensors[1]


@dataclass(frozen=True, repr=False)
class LabelSplit:
    """A training set where only some labels are known."""

    labelled: TensorDataset  # (x, y): only the examples whose label is kept (train on labels alone)
    mixed: TensorDataset  # (x, y, labelled) for every example; y = -1 where the label is hidden
    fraction: float  # the requested fraction of labelled examples
    seed: int

    def __repr__(self) -> str:
        return (f"LabelSplit(labelled={len(self.labelled)} of {len(self.mixed)} examples, "
                f"fraction={self.fraction}, seed={self.seed})")


def split_labels(dataset: TensorDataset, fraction: float, *, seed: int = 0) -> LabelSplit:
    """Keep the labels of ``fraction`` of the examples of each class (at least one per class).

    ``mixed`` carries a bool ``labelled`` mask as a third tensor: ``distill`` then applies the hard
    loss to the labelled examples only and the soft loss (teacher's targets) to every example.
    Hidden labels are replaced by -1, so they cannot leak into training.
    """
    func = "split_labels"
    x, y = _check_labelled_dataset(dataset, func)
    fraction = check_float("fraction", fraction, func, low=0, high=1, closed="right")
    check_int("seed", seed, func, low=0)
    gen = torch.Generator().manual_seed(seed)
    mask = torch.zeros(len(y), dtype=torch.bool)
    for c in torch.unique(y):
        idx = torch.nonzero(y == c).flatten()
        keep = max(1, round(fraction * len(idx)))
        mask[idx[torch.randperm(len(idx), generator=gen)[:keep]]] = True
    hidden = torch.where(mask, y, torch.full_like(y, -1))
    return LabelSplit(TensorDataset(x[mask], y[mask]), TensorDataset(x, hidden, mask), fraction, seed)


def without_class(dataset: TensorDataset, label: int) -> TensorDataset:
    """The examples of ``dataset`` whose label is not ``label`` (for the omitted-class experiment)."""
    x, y = _check_labelled_dataset(dataset, "without_class")
    check_int("label", label, "without_class", low=0)
    keep = y != label
    return TensorDataset(x[keep], y[keep])
