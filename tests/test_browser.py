"""The real-browser test: the lessons' widgets work in a real JupyterLab, in a real Chromium.

For each lesson with an explorer, a headless Chromium (Debian's ``chromium`` driven by Playwright)
opens the lesson's ``.py`` (its cells up to the explorer, cut at a cell marker; nbval runs the rest)
through its lab URL, checks that it opened as a notebook with its kernel preselected, runs those cells
(Run → Run All Cells), fails on any traceback, then moves the explorer's
slider with the keyboard and waits for the figure (the PNG in the explorer's Output widget) to change.
Screenshots before and after each move go to ``build/browser/`` for people to look at; a failing
step saves ``build/browser/<lesson>-FAILED-<step>.png`` and names the step.

Without ``/usr/bin/chromium`` the test is skipped and says so (``make browser`` installs it).
The ``xdist_group`` mark is meant to keep both lessons on one worker, sharing one JupyterLab and one
browser (module-scoped fixtures). With pytest 9.2 + pytest-xdist 3.8, ``--dist loadgroup`` ignores the
mark (pytest-dev/pytest-xdist#1386): then each worker that gets a lesson starts its own JupyterLab and
Chromium. The test works either way; every lesson opens in a fresh workspace (``?reset``).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, SHOTS, LabServer, NotebookDriver

# (lesson, regex matching the explorer slider's description, the call that builds the explorer)
LESSONS = [
    pytest.param("notebooks/en/01_knowledge_distillation.py", r"temperature|^T$|^τ$", "temperature_explorer(",
                 id="01_knowledge_distillation"),
    pytest.param("notebooks/en/02_pruning.py", r"sparsity", "sparsity_explorer(", id="02_pruning"),
    pytest.param("notebooks/en/03_quantization.py", r"^bits$", "bits_explorer(", id="03_quantization"),
]
PREFIXES = ROOT / "build" / "browser-lessons"


def lesson_through_explorer(relpath: str, call: str) -> str:
    """The lesson's text up to and including the cell that builds its explorer, written under build/.

    Every cell of every lesson already runs under nbval; what only a browser can show is the explorer,
    so the browser runs the cells it needs (not the whole lesson, which would cost minutes of the test
    budget). The text is cut at a cell marker, so the header and the cells are the lesson's own bytes."""
    text = (ROOT / relpath).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if call in line and not line.lstrip().startswith("#"))
    end = next((i for i in range(at + 1, len(lines)) if lines[i].startswith("# %%")), len(lines))
    PREFIXES.mkdir(parents=True, exist_ok=True)
    out = PREFIXES / Path(relpath).name
    out.write_text("".join(lines[:end]).rstrip("\n") + "\n", encoding="utf-8")
    return str(out.relative_to(ROOT))

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OPEN_TIMEOUT = 90  # s: page load + the notebook panel
KERNEL_TIMEOUT = 90  # s: kernel started and idle
RUN_ALL_TIMEOUT = 300  # s: a lesson runs in <= 60 s alone; the other xdist worker shares the 2 cores
FIGURE_TIMEOUT = 120  # s: one slider move re-runs the explorer's update in the kernel


@pytest.fixture(scope="module")
def lab():
    if not CHROMIUM.exists():
        pytest.skip(f"chromium not found at {CHROMIUM}; install Debian's chromium package (make browser) "
                    "to run the real-browser test")
    with tempfile.TemporaryDirectory(prefix="course-lab-") as tmp:
        # one log per xdist worker: each worker that gets a lesson starts its own JupyterLab
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with LabServer(Path(tmp), log_path=SHOTS / f"jupyterlab-{worker}.log") as server:
            yield server


@pytest.fixture(scope="module")
def browser_context(lab):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")
    with tempfile.TemporaryDirectory(prefix="course-chromium-") as profile, \
            sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def _kernel_display_name(text: str) -> str:
    m = re.search(r"^#\s+kernelspec:\s*\n(?:#\s{4,}.*\n)*?#\s+display_name:\s*(.+)$", text, re.M)
    return m.group(1).strip() if m else ""


@pytest.mark.parametrize(("lesson", "slider_label", "explorer_call"), LESSONS)
def test_widget_redraws_in_real_browser(lab, browser_context, lesson, slider_label, explorer_call):
    assert (ROOT / lesson).exists(), f"{lesson} does not exist"
    relpath = lesson_through_explorer(lesson, explorer_call)
    path = ROOT / relpath
    expected_kernel = _kernel_display_name(path.read_text())
    assert expected_kernel, f"{relpath} has no kernelspec header (its display_name preselects the kernel)"

    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    nb = NotebookDriver(page, lab, relpath)
    for old in SHOTS.glob(f"{nb.name}-*"):
        old.unlink()
    t0 = time.monotonic()
    try:
        with nb.step("open the .py as a notebook"):
            nb.open(timeout=OPEN_TIMEOUT)
        with nb.step("kernel preselected and idle"):
            nb.wait_kernel_idle(KERNEL_TIMEOUT, f"the preselected kernel {expected_kernel!r} to start (idle)",
                                kernel=expected_kernel)
            nb.fail_on_kernel_dialog()
            sessions = [s for s in lab.api("/api/sessions") if s.get("path") == relpath]
            assert sessions, f"the server has no kernel session for {relpath}: {lab.api('/api/sessions')}"
        with nb.step("opened unmodified (no unsaved-changes dot)"):
            assert not nb.is_dirty(), f"{relpath} shows the unsaved-changes dot before anything ran"
        with nb.step("Run All Cells without errors"):
            nb.run_all(timeout=RUN_ALL_TIMEOUT)
            nb.fail_on_errors()
        with nb.step("every widget renders"):
            nb.wait_widgets_rendered(timeout=30)
            nb.fail_on_errors()
        with nb.step("find the slider and its figure"):
            nb.find_slider(slider_label)
            src_before = nb.poll(nb.output_src, 30, "a PNG in the explorer's Output widget")
            assert src_before.startswith("data:image/png"), f"the Output shows {src_before[:40]!r}, not a PNG"
            readout_before = nb.readout()
            nb.scroll_widget_into_view()
            nb.shot("before")
        with nb.step("move the slider"):
            nb.move_slider()
            nb.poll(lambda: nb.readout() != readout_before, 10,
                     f"the slider's readout to leave {readout_before!r}")
            readout_after = nb.readout()
        with nb.step("the figure changes after the slider moved"):
            nb.wait_output_change(src_before, FIGURE_TIMEOUT, what=(
                f"the Output's image to change after the slider moved {readout_before} → {readout_after} "
                "(the label changed; the PNG did not)"))
            # let queued updates finish so the screenshot shows the final value's figure
            nb.wait_kernel_idle(FIGURE_TIMEOUT, "the kernel to finish the slider's updates")
            src_after = nb.wait_output_settled()
            assert src_after != src_before, "the figure went back to the one before the move"
            nb.fail_on_errors()
            nb.scroll_widget_into_view()
            nb.shot("after")
    finally:
        nb.write_console_log()
        page.close()
        nb.shutdown_kernel()  # frees the lesson's memory and CPU before the next lesson
    print(f"{relpath}: {time.monotonic() - t0:.1f} s; steps: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in nb.timings.items())
          + f"; slider {readout_before} → {readout_after}; "
          f"PNG {hashlib.sha1(src_before.encode()).hexdigest()[:8]} → "
          f"{hashlib.sha1(src_after.encode()).hexdigest()[:8]}; screenshots: {SHOTS}/{nb.name}-*.png")
    assert not nb.content_writes, f"running {relpath} in JupyterLab wrote to the server: {nb.content_writes}"


CHINESE_LESSON = "notebooks/zh/00_measure_first.py"
CJK_FONT = re.compile(r"CJK|Hei|Song|Ming|Kai|WenQuanYi|Noto Sans SC|Source Han|PingFang|YaHei", re.I)


def test_a_chinese_lesson_renders_its_chinese_text(lab, browser_context):
    """A Chinese lesson opens as a notebook, unmodified, with its kernel, and Chromium draws its Chinese
    text with a CJK font (not empty boxes): see build/browser/00_measure_first-zh-rendered.png."""
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    nb = NotebookDriver(page, lab, CHINESE_LESSON)
    nb.name = "00_measure_first-zh"
    try:
        with nb.step("open the Chinese lesson as a notebook"):
            nb.open(timeout=OPEN_TIMEOUT)
        with nb.step("kernel preselected and idle"):
            nb.wait_kernel_idle(KERNEL_TIMEOUT, "the preselected kernel to start (idle)",
                                kernel=_kernel_display_name((ROOT / CHINESE_LESSON).read_text()))
        with nb.step("opened unmodified (no unsaved-changes dot)"):
            assert not nb.is_dirty(), f"{CHINESE_LESSON} shows the unsaved-changes dot before anything ran"
        with nb.step("the Chinese heading is drawn with a CJK font"):
            heading = nb.panel.query_selector(".jp-RenderedMarkdown h1")
            assert heading is not None and "先测量" in heading.inner_text(), "no rendered Chinese heading"
            fonts = nb.fonts_used(".jp-RenderedMarkdown h1")
            assert any(CJK_FONT.search(f) for f in fonts), (
                f"the Chinese heading is drawn with {fonts}: no CJK font (install fonts-noto-cjk: make browser)")
            shot = nb.shot("rendered")
    finally:
        nb.write_console_log()
        page.close()
        nb.shutdown_kernel()
    print(f"{CHINESE_LESSON}: heading drawn with {fonts}; screenshot {shot}")
