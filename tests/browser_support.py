"""Helpers for the real-browser test (tests/test_browser.py): a throw-away JupyterLab server and a
Playwright driver for one notebook in it.

The server runs from the course's venv with the course's own Jupyter settings (the overrides that
open ``.py`` files with the "Jupytext Notebook" viewer) but with temporary user settings, workspaces,
config and runtime folders, so nothing the learner has configured leaks in and nothing is written
back. Autosave is switched off there: running the lessons must never rewrite them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
STDERR_MIME = "application/vnd.jupyter.stderr"

# Settings for the test's throw-away user-settings folder (the course's overrides.json still applies).
TEST_USER_SETTINGS = {
    # never write the lesson back to disk while the test runs it
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # every cell stays in the DOM, so the test can see every prompt and output
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # no "would you like to receive news?" toast over the page
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def venv_python() -> str:
    candidate = ROOT / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


class LabServer:
    """``jupyter lab`` on 127.0.0.1 with a token; use as a context manager (always terminated)."""

    def __init__(self, workdir: Path, log_path: Path, start_timeout: float = 90.0):
        self.workdir = workdir
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5.0):
        req = urllib.request.Request(
            f"{self.base_url}{path}", method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 40) -> str:
        return _tail(self.log_path, n)

    def __enter__(self) -> LabServer:
        for sub in ("settings", "workspaces", "config", "runtime"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        for rel, content in TEST_USER_SETTINGS.items():
            path = self.workdir / "settings" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(content))
        # the server settings `python -m coursekit setup-lab` writes into the course's environment
        from coursekit.course.labenv import server_config

        (self.workdir / "config" / "jupyter_server_config.json").write_text(
            json.dumps(server_config(Path(venv_python()).parent.parent)))

        env = dict(os.environ)
        course_jupyter = str(ROOT / ".venv" / "share" / "jupyter")
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (course_jupyter, env.get("JUPYTER_PATH")) if p)
        env["JUPYTER_CONFIG_DIR"] = str(self.workdir / "config")
        env["JUPYTER_RUNTIME_DIR"] = str(self.workdir / "runtime")
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env.pop("JUPYTER_TOKEN", None)

        cmd = [
            venv_python(), "-m", "jupyterlab",
            "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={ROOT}",
            f"--LabApp.user_settings_dir={self.workdir / 'settings'}",
            f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # Lab checkpoints a file when it opens it: keep those copies out of the repository
            f"--FileCheckpoints.checkpoint_dir={self.workdir / 'checkpoints'}",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited (code {self.proc.returncode}) before it answered /api/status.\n"
                    f"--- {self.log_path} ---\n{self.log_tail()}"
                )
            try:
                self.api("/api/status", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                last = repr(exc)
            time.sleep(0.5)
        raise RuntimeError(
            f"JupyterLab did not answer /api/status within {self.start_timeout:.0f} s (last: {last}).\n"
            f"--- {self.log_path} ---\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):  # shut the kernels down cleanly first
                for kernel in self.api("/api/kernels") or []:
                    self.api(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=10)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # the group of the server we started
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.proc = None

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the notebook driver ------------------------------------------------------------------------------

# JS run in the page. Everything is scoped to the notebook panel that the test opened.
_JS_CELL_STATE = """
(panel) => {
  const cells = [...panel.querySelectorAll('.jp-Notebook > .jp-Cell.jp-CodeCell, .jp-WindowedPanel-viewport > .jp-Cell.jp-CodeCell')];
  return cells.map((cell, i) => {
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    const editor = cell.querySelector('.cm-content');
    return {
      index: i,
      prompt: prompt ? prompt.textContent.trim() : '',
      source: editor ? editor.innerText.trim().slice(0, 200) : '',
    };
  });
}
"""

_JS_ERRORS = """
([panel, mime]) => {
  const found = [];
  const errorLine = /(^|\\n)\\s*[A-Za-z_][\\w.]*(Error|Exception|Interrupt|Exit)\\b(:|\\s*$)/;
  const cells = [...panel.querySelectorAll('.jp-Cell.jp-CodeCell')];
  cells.forEach((cell, i) => {
    for (const el of cell.querySelectorAll(`.jp-RenderedText[data-mime-type="${mime}"], .jp-OutputArea-output[data-mime-type="${mime}"]`)) {
      const text = el.innerText || el.textContent || '';
      if (text.includes('Traceback') || errorLine.test(text)) {
        const prompt = cell.querySelector('.jp-InputArea-prompt');
        found.push({cell: i, prompt: prompt ? prompt.textContent.trim() : '', text: text.slice(0, 3000)});
        break;
      }
    }
  });
  return found;
}
"""


class StepFailed(AssertionError):
    pass


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


class NotebookDriver:
    """Drives one notebook tab in a Playwright page; every step fails with a screenshot and context."""

    def __init__(self, page, server: LabServer, relpath: str, shots_dir: Path = SHOTS):
        self.page = page
        self.server = server
        self.relpath = relpath
        self.name = safe_name(Path(relpath).stem)
        self.shots_dir = shots_dir
        self.console: list[str] = []
        self.timings: dict[str, float] = {}
        page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        # requests that would write a file (a save, rename, checkpoint): running a lesson must send none
        self.content_writes: list[str] = []
        page.on("request", self._watch_request)
        self.panel = None  # ElementHandle of the .jp-NotebookPanel

    def _watch_request(self, request) -> None:
        url = request.url.split("?")[0]
        if "/api/contents" not in url or request.method in ("GET", "HEAD"):
            return
        if request.method == "POST" and url.endswith("/checkpoints"):
            return  # Lab makes a first checkpoint when it opens a file (into the server's temp folder)
        self.content_writes.append(f"{request.method} {url}")

    # -- bookkeeping --
    def shot(self, label: str) -> Path:
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        path = self.shots_dir / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path))
        return path

    def write_console_log(self) -> Path:
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        path = self.shots_dir / f"{self.name}-console.log"
        path.write_text("\n".join(self.console) + "\n")
        return path

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        t0 = time.monotonic()
        try:
            yield
        except Exception as exc:
            try:
                shot = self.shot(f"FAILED-{safe_name(what)}")
            except Exception as shot_exc:  # the page may be gone
                shot = f"(no screenshot: {shot_exc})"
            log = self.write_console_log()
            console = "\n".join(self.console[-15:]) or "(empty)"
            raise StepFailed(
                f"[{self.relpath}] step '{what}' failed after {time.monotonic() - t0:.1f} s: {exc}\n"
                f"screenshot: {shot}\nbrowser console ({log}), last lines:\n{console}\n"
                f"JupyterLab log ({self.server.log_path}), last lines:\n{self.server.log_tail(15)}"
            ) from exc
        self.timings[what] = time.monotonic() - t0

    def poll(self, check, timeout: float, what: str, interval: float = 0.25):
        """Call ``check()`` until it returns something truthy; raise TimeoutError naming ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            self.page.wait_for_timeout(interval * 1000)

    # -- steps --
    def open(self, timeout: float = 90.0) -> None:
        """Open the .py through its lab URL; it must open as a notebook (not in the text editor).

        ``?reset`` starts from an empty workspace, so a tab restored from an earlier test (same server)
        cannot be mistaken for this one."""
        self.page.goto(self.server.url(f"/lab/tree/{self.relpath}?reset"), wait_until="domcontentloaded",
                       timeout=timeout * 1000)
        basename = Path(self.relpath).name
        current_tab = "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel"
        visible = "#jp-main-dock-panel .jp-MainAreaWidget:not(.lm-mod-hidden)"

        def opened():
            self.fail_on_kernel_dialog()
            labels = self.page.eval_on_selector_all(current_tab, "els => els.map(e => e.textContent.trim())")
            if basename not in labels:
                return None
            if self.page.query_selector(f"{visible} .jp-FileEditor"):
                return "editor"
            if self.page.query_selector(f"{visible}.jp-NotebookPanel .jp-Notebook"):
                return "notebook"
            return None
        try:
            kind = self.poll(opened, timeout, f"a current tab named {basename} showing a notebook or an editor")
        except TimeoutError as exc:
            labels = self.page.eval_on_selector_all(current_tab, "els => els.map(e => e.textContent.trim())")
            raise TimeoutError(f"{exc}; current main-area tab(s): {labels}") from None
        if kind == "editor":
            raise AssertionError(
                f"{basename} opened in the text editor, not as a notebook: the 'Jupytext Notebook' "
                "default viewer for .py files is not active (python -m coursekit setup-lab writes it)")
        self.panel = self.page.query_selector(f"{visible}.jp-NotebookPanel")

    def shutdown_kernel(self) -> None:
        """Shut down this notebook's kernel session on the server (best effort)."""
        with contextlib.suppress(Exception):
            for session in self.server.api("/api/sessions") or []:
                if session.get("path") == self.relpath:
                    self.server.api(f"/api/sessions/{session['id']}", method="DELETE", timeout=15)

    def execution_status(self) -> str | None:
        el = self.panel.query_selector(".jp-Notebook-ExecutionIndicator")
        return el.get_attribute("data-status") if el else None

    def wait_kernel_idle(self, timeout: float = 90.0, what: str = "the kernel to be idle",
                         kernel: str | None = None) -> None:
        """Wait until the toolbar's execution indicator says idle (and, with ``kernel``, the toolbar
        names that kernel: before a session exists the indicator says idle next to 'No Kernel')."""
        def check():
            self.fail_on_kernel_dialog()
            if kernel is not None and self.kernel_name() != kernel:
                return False
            return self.execution_status() == "idle"
        try:
            self.poll(check, timeout, what)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc} (toolbar kernel: {self.kernel_name()!r}, "
                               f"status: {self.execution_status()!r})") from None

    def fail_on_kernel_dialog(self) -> None:
        dialog = self.page.query_selector(".jp-Dialog")
        if dialog:
            text = dialog.inner_text()
            if "kernel" in text.lower():
                raise AssertionError(
                    "a kernel dialog appeared (the notebook's kernelspec should preselect the kernel): "
                    + " ".join(text.split())[:300])

    def is_dirty(self) -> bool:
        """Whether the notebook's tab shows the unsaved-changes dot."""
        return self.page.query_selector(
            "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current.jp-mod-dirty") is not None

    def fonts_used(self, selector: str) -> list[str]:
        """The platform fonts Chromium used to draw the first element matching ``selector`` in the
        notebook (DevTools' CSS.getPlatformFontsForNode): tells rendered CJK text from empty boxes."""
        handle = self.panel.query_selector(selector)
        if handle is None:
            raise AssertionError(f"nothing in the notebook matches {selector!r}")
        handle.evaluate("el => el.setAttribute('data-browser-test-font', '1')")
        cdp = self.page.context.new_cdp_session(self.page)
        try:
            cdp.send("DOM.enable")
            cdp.send("CSS.enable")
            root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
            node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-browser-test-font]"})["nodeId"]
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        finally:
            cdp.detach()
        return [f"{f['familyName']} ({f['glyphCount']} glyphs)" for f in fonts]

    def kernel_name(self) -> str:
        el = self.panel.query_selector(".jp-KernelName")
        return el.inner_text().strip() if el else ""

    def cell_state(self) -> list[dict]:
        return self.panel.evaluate(_JS_CELL_STATE)

    def errors(self) -> list[dict]:
        return self.page.evaluate(_JS_ERRORS, [self.panel, STDERR_MIME])

    def fail_on_errors(self) -> None:
        errs = self.errors()
        if errs:
            first = errs[0]
            raise AssertionError(
                f"{len(errs)} cell(s) show a traceback; first: code cell #{first['cell']} "
                f"{first['prompt']}\n{first['text']}")
        body = self.page.inner_text("body")
        if "Error displaying widget" in body:
            raise AssertionError("the page shows 'Error displaying widget'")

    def widget_outputs(self) -> list[dict]:
        """Widget outputs that show no widget: 'Loading widget...' or 'Error displaying widget'."""
        return self.panel.evaluate("""panel => {
          const cells = [...panel.querySelectorAll('.jp-Cell.jp-CodeCell')];
          const found = [];
          cells.forEach((cell, i) => {
            // a widget renderer shows these as its only text until (unless) the widget view appears
            for (const el of cell.querySelectorAll('.jp-OutputArea-output')) {
              if (el.childElementCount !== 0) continue;
              const text = (el.textContent || '').trim();
              if (text.startsWith('Loading widget') || text.startsWith('Error displaying widget'))
                found.push({cell: i, text: text.slice(0, 100)});
            }
          });
          return found;
        }""")

    def wait_widgets_rendered(self, timeout: float = 30.0) -> None:
        """Every widget output renders: none stays at 'Loading widget...' (its model never arrived)."""
        def rendered():
            outs = self.widget_outputs()
            if any(o["text"].startswith("Error") for o in outs):  # final: no need to wait it out
                raise AssertionError(f"a widget output shows an error: {outs}")
            return not outs
        try:
            self.poll(rendered, timeout, "every widget to render")
        except TimeoutError:
            stuck = self.widget_outputs()
            raise AssertionError(
                f"{len(stuck)} widget output(s) still show no widget {timeout:.0f} s after the kernel went "
                f"idle, first: code cell #{stuck[0]['cell']}: {stuck[0]['text']!r}") from None

    def run_all(self, timeout: float = 300.0) -> None:
        """Run → Run All Cells, then wait until no cell shows [*] and the kernel is idle."""
        self.page.click(".lm-MenuBar-item:has(.lm-MenuBar-itemLabel:text-is('Run'))")
        self.page.click(".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('Run All Cells'))")
        self.poll(lambda: any(c["prompt"] != "[ ]:" for c in self.cell_state()), 30,
                   "Run All Cells to start (a cell showing [*] or a number)")
        stable = {"n": 0}

        def done():
            self.fail_on_errors()  # fail fast: Lab stops Run All at the first error
            busy = [c for c in self.cell_state() if "*" in c["prompt"]]
            status = self.execution_status()
            stable["n"] = stable["n"] + 1 if (not busy and status == "idle") else 0
            return stable["n"] >= 3
        self.poll(done, timeout, "every cell to finish (no [*], kernel idle)", interval=0.5)
        skipped = [c for c in self.cell_state() if not re.fullmatch(r"\[\d+\]:", c["prompt"]) and c["source"]]
        if skipped:
            raise AssertionError(
                f"{len(skipped)} non-empty code cell(s) did not run, first: #{skipped[0]['index']} "
                f"{skipped[0]['prompt']} {skipped[0]['source'][:80]!r}")

    def find_slider(self, label: str, timeout: float = 30.0):
        """The slider whose description matches ``label`` (a regex) and that has an Output with an
        image in the same cell; returns (slider, output) element handles."""
        try:
            found = self.poll(lambda: (r := self._find_slider(label))["ok"] and r, timeout,
                               f"a slider labelled /{label}/i with an Output widget after it")
        except TimeoutError:
            found = self._find_slider(label)
            raise AssertionError(
                f"no slider labelled /{label}/i followed by an Output widget in the same cell "
                f"within {timeout:.0f} s; sliders on the page: {found['labels']}; widget outputs "
                f"without a widget: {self.widget_outputs()}") from None
        return (self.panel.query_selector("[data-browser-test=slider]"),
                self.panel.query_selector("[data-browser-test=output]"))

    def _find_slider(self, label: str) -> dict:
        return self.panel.evaluate(
            """(panel, label) => {
              const re = new RegExp(label, 'i');
              const sliders = [...panel.querySelectorAll('.widget-slider')];
              const info = sliders.map(s => {
                const d = s.querySelector('.widget-label');
                return d ? (d.innerText || d.textContent).trim() : '';
              });
              const pick = sliders.filter((s, i) => re.test(info[i]));
              for (const s of pick) {
                const cell = s.closest('.jp-Cell');
                const outs = [...cell.querySelectorAll('.widget-output')].filter(
                  o => s.compareDocumentPosition(o) & Node.DOCUMENT_POSITION_FOLLOWING);
                const out = outs.find(o => o.querySelector('img')) || outs[0];
                if (out) {
                  s.setAttribute('data-browser-test', 'slider');
                  out.setAttribute('data-browser-test', 'output');
                  return {ok: true, labels: info};
                }
              }
              return {ok: false, labels: info};
            }""",
            label,
        )

    def output_src(self) -> str | None:
        return self.panel.evaluate(
            """panel => { const img = panel.querySelector('[data-browser-test=output] img');
                          return img ? img.getAttribute('src') : null; }""")

    def readout(self) -> str:
        return self.panel.eval_on_selector(
            "[data-browser-test=slider] .widget-readout",
            "el => (el.value !== undefined && el.value !== '' ? el.value : el.textContent).trim()")

    def move_slider(self, presses: int = 2) -> None:
        """Focus the slider's handle and press PageUp (or PageDown when it sits in the upper half)."""
        handle = self.panel.query_selector("[data-browser-test=slider] .noUi-handle")
        if handle is None:
            raise AssertionError("the slider has no .noUi-handle")
        now, lo, hi = (float(handle.get_attribute(a) or "nan")
                       for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
        key = "PageDown" if now == now and lo == lo and hi == hi and now > (lo + hi) / 2 else "PageUp"
        before = self.readout()
        handle.focus()
        for _ in range(presses):
            self.page.keyboard.press(key)
            self.page.wait_for_timeout(150)
        try:
            self.poll(lambda: self.readout() != before, 3, "the readout to change")
        except TimeoutError:  # keyboard did nothing: drag the handle a third of the track instead
            track = self.panel.query_selector("[data-browser-test=slider] .noUi-base").bounding_box()
            box = handle.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            dx = track["width"] / 3 * (-1 if key == "PageDown" else 1)
            self.page.mouse.move(x, y)
            self.page.mouse.down()
            self.page.mouse.move(x + dx, y, steps=10)
            self.page.mouse.up()

    def wait_output_change(self, src_before: str, timeout: float, idle_grace: float = 15.0,
                           what: str = "the Output's image to change") -> str:
        """Wait for the Output's image ``src`` to differ from ``src_before``; returns the new src.

        Gives up early when the kernel has been idle for ``idle_grace`` s (it finished handling the
        slider's messages, and nothing new is coming) while the image is still the old one.
        """
        start = last_busy = time.monotonic()
        while True:
            src = self.output_src()
            if src is not None and src != src_before:
                return src
            now = time.monotonic()
            if self.execution_status() != "idle":
                last_busy = now
            if now - last_busy > idle_grace:
                raise AssertionError(
                    f"{what}: the kernel handled the slider's update(s) and has been idle for "
                    f"{idle_grace:.0f} s, but the image is unchanged ({now - start:.0f} s after the move)")
            if now - start > timeout:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            self.page.wait_for_timeout(250)

    def wait_output_settled(self, timeout: float = 30.0) -> str:
        """Wait until the Output's image has stayed the same for ~1 s; returns its src."""
        state = {"src": None, "n": 0}

        def settled():
            src = self.output_src()
            state["n"] = state["n"] + 1 if (src and src == state["src"]) else 0
            state["src"] = src
            return state["n"] >= 4 and src
        return self.poll(settled, timeout, "the Output's image to settle")

    def scroll_widget_into_view(self) -> None:
        self.panel.eval_on_selector("[data-browser-test=slider]", """el => {
            el.scrollIntoView({block: 'start'});
            let p = el.parentElement;  // leave a little room above the slider
            while (p && p.scrollHeight <= p.clientHeight) p = p.parentElement;
            if (p) p.scrollTop = Math.max(0, p.scrollTop - 60);
        }""")
        self.page.wait_for_timeout(300)
