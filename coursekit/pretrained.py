"""Trained models on disk, so that no lesson waits for the same training twice.

``pretrained("teacher")`` trains TeacherNet deterministically on first use, saves its weights in the
project's cache folder (``.cache/coursekit/``, git-ignored; ``COURSEKIT_CACHE_DIR`` overrides it)
under a key made of everything that determines them, and afterwards loads them in a fraction of a
second with ``torch.load(..., weights_only=True)``. A changed recipe means a new key and a new
training; a corrupt or mismatched file is retrained and replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from coursekit._validate import check_choice, check_int, check_type
from coursekit.data import load_dataset, make_loaders
from coursekit.models import StudentNet, TeacherNet
from coursekit.train import fit

__all__ = ["RECIPES", "Recipe", "cache_dir", "pretrained", "pretrained_path"]

CACHE_FORMAT = 1  # bump when the file layout changes


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a cached model's weights."""

    arch: str  # "teacher" or "student"
    dataset: str = "digits"
    data_seed: int = 0  # the split (load_dataset's seed)
    seed: int = 0  # initial weights and shuffling
    epochs: int = 15
    lr: float = 1e-3
    batch_size: int = 64
    augment: bool = False

    def key(self) -> str:
        payload = {**asdict(self), "torch": torch.__version__.split("+")[0], "format": CACHE_FORMAT}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        return f"{self.arch}-{self.dataset}-{digest}"


RECIPES = {
    "teacher": Recipe("teacher", epochs=15),
    "student": Recipe("student", epochs=25),
}
_ARCHS = {"teacher": TeacherNet, "student": StudentNet}


def cache_dir() -> Path:
    """The folder holding cached weights: $COURSEKIT_CACHE_DIR, else <project>/.cache/coursekit."""
    env = os.environ.get("COURSEKIT_CACHE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / ".cache" / "coursekit"


def pretrained_path(name: str = "teacher", *, seed: int = 0) -> Path:
    """Where ``pretrained(name, seed=seed)`` keeps its weights."""
    return cache_dir() / f"{_recipe(name, seed, 'pretrained_path').key()}.pt"


def _recipe(name: str, seed: int, func: str) -> Recipe:
    check_type("name", name, func, str)
    check_choice("name", name, func, sorted(RECIPES))
    check_int("seed", seed, func, low=0)
    base = RECIPES[name]
    return Recipe(**{**asdict(base), "seed": seed})


def _build(recipe: Recipe) -> nn.Module:
    splits = load_dataset(recipe.dataset, seed=recipe.data_seed)
    return _ARCHS[recipe.arch](num_classes=splits.num_classes, in_channels=splits.input_shape[0])


def _train(recipe: Recipe, progress: bool) -> nn.Module:
    splits = load_dataset(recipe.dataset, seed=recipe.data_seed)
    loaders = make_loaders(splits, recipe.batch_size, seed=recipe.seed, augment=recipe.augment)
    torch.manual_seed(recipe.seed)
    model = _build(recipe)
    fit(model, loaders.train, loaders.val, epochs=recipe.epochs, lr=recipe.lr, seed=recipe.seed,
        progress=progress)
    return model


def _load(path: Path, recipe: Recipe) -> nn.Module | None:
    """The cached model, or None when the file is missing, corrupt or from another recipe."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("key") != recipe.key():
            return None
        model = _build(recipe)
        model.load_state_dict(blob["state_dict"])
        return model
    except Exception:  # noqa: BLE001 - any unreadable file means "train again"
        return None


def _save(model: nn.Module, recipe: Recipe, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # write then rename: a reader (another notebook running in parallel) never sees half a file
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"key": recipe.key(), "recipe": asdict(recipe), "state_dict": model.state_dict()}, tmp)
        # mkstemp makes the file private (0600); a cache shared by a class must be readable by all
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pretrained(name: str = "teacher", *, seed: int = 0, progress: bool = True,
               retrain: bool = False) -> nn.Module:
    """A trained ``TeacherNet`` ("teacher") or ``StudentNet`` ("student") for the digits, in eval mode.

    Loaded from the cache when present and valid; otherwise trained (about 15 s for the teacher on
    two cores) and cached. ``retrain=True`` ignores the cache.
    """
    func = "pretrained"
    recipe = _recipe(name, seed, func)
    check_type("progress", progress, func, bool)
    check_type("retrain", retrain, func, bool)
    path = cache_dir() / f"{recipe.key()}.pt"
    model = None if retrain or not path.exists() else _load(path, recipe)
    if model is None:
        model = _train(recipe, progress)
        try:
            _save(model, recipe, path)
        except OSError as exc:  # a read-only shared cache (a hub's): use the model, keep nothing
            warnings.warn(f"could not cache the trained {name} in {path.parent} ({exc.strerror or exc}); "
                          "it was trained for this session only", RuntimeWarning, stacklevel=2)
    model.eval()
    return model
