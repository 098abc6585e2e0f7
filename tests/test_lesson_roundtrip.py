"""Every lesson, solution and exercise opens in the course's lab unmodified: served through the lab's
contents manager (jupytext + the kernel's language_info) and saved back unchanged, the file stays
byte-identical. Otherwise JupyterLab shows the unsaved-changes dot on a lesson nobody edited."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(p.relative_to(ROOT) for folder in ("notebooks", "solutions", "exercises")
               for p in (ROOT / folder).glob("*/*.py"))


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    from coursekit.course.labcontents import CourseContentsManager

    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "jupytext.toml", root / "jupytext.toml")
    return root, CourseContentsManager(root_dir=str(root))


@pytest.mark.parametrize("rel", FILES, ids=str)
def test_a_lesson_opened_and_saved_in_the_lab_is_unchanged(manager, rel):
    from coursekit.course.labcontents import kernel_language_info

    root, cm = manager
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / rel, root / rel)

    async def open_and_save():
        model = await cm.get(str(rel), content=True, type="notebook")
        assert model["content"]["metadata"]["language_info"] == kernel_language_info()
        await cm.save({"type": "notebook", "format": "json", "content": model["content"]}, str(rel))

    asyncio.run(open_and_save())
    assert (root / rel).read_bytes() == (ROOT / rel).read_bytes(), \
        f"{rel}: saving it unchanged in the lab rewrites it (see jupytext.toml and docs/authoring.md's header)"
