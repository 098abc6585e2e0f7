"""The pretrained-model cache: trains once, loads afterwards, retrains when the key or the file is bad.

These tests use a temporary cache folder and a shortened recipe so that they train in seconds.
"""

import pytest
import torch

import coursekit.pretrained as pt


@pytest.fixture()
def quick(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(pt.RECIPES, "student", pt.Recipe("student", epochs=1))
    calls = []
    original = pt._train

    def counting_train(recipe, progress):
        calls.append(recipe)
        return original(recipe, progress)

    monkeypatch.setattr(pt, "_train", counting_train)
    return calls


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_trains_once_then_loads(quick, tmp_path):
    first = pt.pretrained("student", progress=False)
    assert len(quick) == 1 and pt.pretrained_path("student").exists()
    assert pt.pretrained_path("student").parent == tmp_path
    second = pt.pretrained("student", progress=False)
    assert len(quick) == 1  # loaded, not trained
    assert _same(first, second) and not second.training


def test_training_is_deterministic(quick):
    a = pt.pretrained("student", progress=False)
    b = pt.pretrained("student", progress=False, retrain=True)
    assert len(quick) == 2 and _same(a, b)


def test_key_changes_with_the_recipe(quick):
    pt.pretrained("student", progress=False)
    path_seed0 = pt.pretrained_path("student", seed=0)
    pt.pretrained("student", seed=1, progress=False)
    assert len(quick) == 2 and pt.pretrained_path("student", seed=1) != path_seed0
    assert pt.Recipe("student", epochs=2).key() != pt.Recipe("student", epochs=1).key()
    assert pt.Recipe("student", lr=2e-3).key() != pt.Recipe("student").key()


def test_corrupt_file_is_retrained(quick):
    pt.pretrained("student", progress=False)
    path = pt.pretrained_path("student")
    path.write_bytes(b"not a checkpoint")
    model = pt.pretrained("student", progress=False)
    assert len(quick) == 2 and isinstance(model, torch.nn.Module)
    assert torch.load(path, weights_only=True)["key"] == pt.RECIPES["student"].key()


def test_file_from_another_recipe_is_retrained(quick):
    pt.pretrained("student", progress=False)
    path = pt.pretrained_path("student")
    blob = torch.load(path, weights_only=True)
    blob["key"] = "something-else"
    torch.save(blob, path)
    pt.pretrained("student", progress=False)
    assert len(quick) == 2


def test_default_cache_is_inside_the_project(monkeypatch):
    monkeypatch.delenv("COURSEKIT_CACHE_DIR", raising=False)
    from pathlib import Path

    project = Path(pt.__file__).resolve().parent.parent
    assert pt.cache_dir() == project / ".cache" / "coursekit"


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"name": "giant"}, ValueError, r"'name' parameter of pretrained must be one of \{'student', 'teacher'\}"),
    ({"name": "student", "seed": -1}, ValueError, "'seed'"),
    ({"name": "student", "retrain": "yes"}, TypeError, "'retrain'"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pt.pretrained(**kwargs)
