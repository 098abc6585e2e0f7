"""The pretrained cache shared by a class (a hub): readable by everyone, usable when read-only."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from coursekit import pretrained as pt


@pytest.fixture
def untrained(monkeypatch, tmp_path):
    """Training replaced by an untrained model (the cache logic is what is tested, not the recipe)."""
    monkeypatch.setenv("COURSEKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(pt, "_train", lambda recipe, progress: pt._build(recipe))
    return tmp_path / "cache"


def test_cached_weights_are_readable_by_other_users(untrained):
    pt.pretrained("student", progress=False)
    (path,) = untrained.glob("*.pt")
    assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044 & ~_umask(), oct(path.stat().st_mode)


def test_a_read_only_cache_that_holds_the_weights_is_only_read(untrained, monkeypatch):
    pt.pretrained("student", progress=False)

    def no_writes(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(pt.tempfile, "mkstemp", no_writes)
    monkeypatch.setattr(pt, "_train", lambda recipe, progress: pytest.fail("trained although cached"))
    assert pt.pretrained("student", progress=False) is not None


def test_a_read_only_cache_without_the_weights_trains_for_the_session(untrained, monkeypatch):
    untrained.mkdir()

    def no_writes(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(pt.tempfile, "mkstemp", no_writes)
    with pytest.warns(RuntimeWarning, match="trained for this session only"):
        assert pt.pretrained("student", progress=False) is not None
    assert list(untrained.iterdir()) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_no_temporary_file_is_left_when_saving_fails(untrained, monkeypatch):
    def broken_save(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pt.torch, "save", broken_save)
    with pytest.warns(RuntimeWarning):
        pt.pretrained("student", progress=False)
    assert [p.name for p in untrained.iterdir()] == []
    shutil.rmtree(untrained)
