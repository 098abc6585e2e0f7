"""A real JupyterHub for a class of two, on 127.0.0.1, then `coursekit grade` over their home folders.

The hub runs with Debian's configurable-http-proxy (`make hub` installs it as root with apt; otherwise
this test skips and says why), the local-process spawner and the dummy authenticator (one shared
password). Two learners log in through the hub's REST API (a token for their password), start their
own servers, save lesson 00's exercise into their home folder through their server's contents API and
run it in a kernel of their server (over the kernel websocket, as JupyterLab does): "ana" the solved
notebook, "bo" the untouched Chinese one. Then the instructor grades the two home folders.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from coursekit.course.cli import main
from coursekit.course.notebooks import code_cells, read_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.hub]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NODE_PATH = "/usr/share/nodejs"  # Debian's node modules; this machine's node does not look there by itself
PASSWORD = "lab-password"
LEARNERS = {"ana": ROOT / "solutions" / "en" / "00_measure_first.py",
            "bo": ROOT / "exercises" / "zh" / "00_measure_first.py"}
NAME = "00_measure_first.py"


def _why_no_hub() -> str | None:
    if shutil.which("jupyterhub", path=str(BIN)) is None or shutil.which("jupyterhub-singleuser", path=str(BIN)) is None:
        return "JupyterHub is not installed in this environment (pip install -e '.[dev]')"
    if shutil.which("configurable-http-proxy") is None:
        return "configurable-http-proxy not found (`make hub` installs Debian's node-configurable-http-proxy as root)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """The hub's REST API with one token (tiny: urllib, JSON in and out)."""

    def __init__(self, base: str, token: str | None = None):
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body=None, ok=(200, 201, 202, 204)):
        import urllib.error
        import urllib.request

        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode(errors="replace")
        assert status in ok, f"{method} {path}: HTTP {status}: {text[:300]}"
        return json.loads(text) if text.strip() else None


async def _run_cells(ws_url: str, token: str, cells: list[str], timeout: float) -> list[dict]:
    """Execute ``cells`` one by one in a running kernel over its websocket; per cell: status and output."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}))
    session, results = uuid.uuid4().hex, []
    try:
        for code in cells:
            msg_id = uuid.uuid4().hex
            await conn.write_message(json.dumps({
                "header": {"msg_id": msg_id, "session": session, "username": "learner", "msg_type": "execute_request",
                           "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": False}}))
            out, status, idle = [], None, False
            deadline = time.monotonic() + timeout
            while status is None or not idle:
                raw = await asyncio.wait_for(conn.read_message(), max(1.0, deadline - time.monotonic()))
                assert raw is not None, "the kernel websocket closed"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg["msg_type"]
                if kind == "stream":
                    out.append(msg["content"]["text"])
                elif kind == "error":
                    out.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
                elif kind == "execute_reply":
                    status = msg["content"]["status"]
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
            results.append({"status": status, "output": "".join(out)})
    finally:
        conn.close()
    return results


@pytest.fixture
def hub(tmp_path):
    why = _why_no_hub()
    if why:
        pytest.skip(why)
    service_token = uuid.uuid4().hex
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "jupyterhub_config.py"
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "OMP_WAIT_POLICY": "PASSIVE",
        "COURSEKIT_CACHE_DIR": os.environ.get("COURSEKIT_CACHE_DIR", str(ROOT / ".cache" / "coursekit")),
    }

    def write_config(port: int, hub_port: int, api_port: int) -> None:
        config.write_text(f"""
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.pid_file = {str(tmp_path / 'proxy.pid')!r}
c.JupyterHub.db_url = "sqlite:///{tmp_path / 'hub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(tmp_path / 'cookie_secret')!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {PASSWORD!r}
c.Authenticator.allowed_users = {set(LEARNERS)!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(home / '{username}')!r}
c.Spawner.cmd = [{str(BIN / 'jupyterhub-singleuser')!r}]
c.Spawner.args = {["--allow-root"] if os.geteuid() == 0 else []!r}
c.Spawner.environment = {env!r}
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.JupyterHub.services = [{{"name": "instructor", "api_token": {service_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "instructor", "services": ["instructor"],
                            "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
""")
    hub_env = {**os.environ, "NODE_PATH": NODE_PATH, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = open(tmp_path / "hub.log", "wb")
    proc = None
    try:
        # a port picked free can be taken by another process before the hub binds it (a busy machine
        # starts kernels all the time): then the start is tried once more on fresh ports
        for attempt in range(2):
            port, hub_port, api_port = _free_port(), _free_port(), _free_port()
            write_config(port, hub_port, api_port)
            log.seek(0)
            log.truncate()
            proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(config)], cwd=tmp_path, env=hub_env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            base = f"http://127.0.0.1:{port}"
            api = Api(base + "/hub/api", service_token)
            deadline = time.monotonic() + 60
            while True:
                try:
                    api("GET", "/")
                    break
                except Exception:
                    text = (tmp_path / "hub.log").read_text(errors="replace")
                    if "EADDRINUSE" in text and attempt == 0:
                        _stop(proc, tmp_path)
                        proc = None
                        break
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("JupyterHub did not start:\n" + text[-3000:])
                    time.sleep(0.5)
            if proc is not None:
                break
        yield {"base": base, "api": api, "home": home, "log": tmp_path / "hub.log"}
    finally:
        if proc is not None:
            for name in LEARNERS:  # stop the servers the hub spawned, then the hub (and its proxy)
                try:
                    api("DELETE", f"/users/{name}/server", ok=(202, 204, 400, 404))
                except Exception:
                    pass
            _stop(proc, tmp_path)
        log.close()


def _stop(proc: subprocess.Popen, tmp_path: Path) -> None:
    """Stop the hub's process group, then its proxy if it is still there."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    pid_file = tmp_path / "proxy.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            pass
        pid_file.unlink(missing_ok=True)


def assert_only_latency_noise(report: Path, item: str) -> None:
    """A solved notebook's item may miss only through ex00-latency's timing tolerance (a machine so
    loaded that time.sleep overshoots by milliseconds); anything else is a real failure."""
    data = json.loads(report.read_text(encoding="utf-8"))
    failed = [c for nb in data["notebooks"] for c in nb["checks"] if not c["passed"]]
    assert item == "E3" and [c["check_id"] for c in failed] == ["ex00-latency"], failed
    assert "expected about" in failed[0]["message"], failed
    print(f"\nnote: ex00-latency missed its timing tolerance on this loaded machine: {failed[0]['message']}")


def test_two_learners_on_a_real_hub_then_grade(hub, tmp_path, capsys):
    base, api, home = hub["base"], hub["api"], hub["home"]
    start = time.perf_counter()
    tokens = {}
    for name in LEARNERS:  # log in through the REST API: a token for the learner's password
        reply = Api(base + "/hub/api")("POST", f"/users/{name}/tokens",
                                        {"auth": {"username": name, "password": PASSWORD}, "note": "test login"})
        tokens[name] = reply["token"]
        Api(base + "/hub/api", tokens[name])("POST", f"/users/{name}/server", ok=(201, 202))
    with pytest.raises(AssertionError, match="HTTP 403"):  # a wrong password gets no token
        Api(base + "/hub/api")("POST", "/users/ana/tokens", {"auth": {"username": "ana", "password": "nope"}})
    for name in LEARNERS:
        deadline = time.monotonic() + 60
        while not api("GET", f"/users/{name}")["servers"].get("", {}).get("ready"):
            assert time.monotonic() < deadline, f"{name}'s server did not start:\n" + hub["log"].read_text()[-3000:]
            time.sleep(0.5)
    spawned = time.perf_counter() - start

    async def learner(name: str) -> list[dict]:
        server = Api(f"{base}/user/{name}/api", tokens[name])
        source = LEARNERS[name].read_text(encoding="utf-8")
        # save the notebook into the learner's home, as JupyterLab does
        server("PUT", f"/contents/{quote(NAME)}", {"type": "file", "format": "text", "content": source})
        kernel = server("POST", "/kernels", {"name": "python3"})
        ws = f"ws://127.0.0.1:{base.rsplit(':', 1)[1]}/user/{name}/api/kernels/{kernel['id']}/channels"
        cells = [c.source for c in code_cells(read_notebook(LEARNERS[name]))]
        try:
            return await _run_cells(ws, tokens[name], cells, timeout=60)
        finally:
            server("DELETE", f"/kernels/{kernel['id']}")

    async def both():
        return await asyncio.gather(*(learner(n) for n in LEARNERS))

    ana, bo = asyncio.run(both())
    ran = time.perf_counter() - start - spawned
    failed = [r for r in ana if r["status"] != "ok"]
    # only ex00-latency's timing tolerance may miss, on a very loaded machine (see assert_only_latency_noise)
    assert not failed or (len(failed) == 1 and "expected about" in failed[0]["output"]), failed
    assert sum("✓" in r["output"] for r in ana) == 3 - len(failed)
    assert sum("NotImplementedError" in r["output"] for r in bo) == 3
    for name in LEARNERS:  # the notebook is in each learner's own home folder, written by their server
        assert (home / name / NAME).read_text(encoding="utf-8") == LEARNERS[name].read_text(encoding="utf-8")

    # the instructor collects the home folders and re-checks them
    code = main(["grade", str(home / "ana"), str(home / "bo"), "--jobs", "2", "--timeout", "60",
                 "--csv", str(tmp_path / "class.csv"), "--save-reports", str(tmp_path / "reports")])
    graded = time.perf_counter() - start - spawned - ran
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    header = lines[2].split()
    rows = {ln.split()[0]: ln.split() for ln in lines[4:6]}
    for item in ("T4", "E3"):
        k = header.index(item)
        assert rows["bo"][k] == "✗", out
        if rows["ana"][k] != "✓":
            assert_only_latency_noise(tmp_path / "reports" / "ana.json", item)
    assert rows["ana"][-1] == rows["bo"][-1] == "re-checked"
    print(f"\nhub: servers ready in {spawned:.1f} s, notebooks run through the servers in {ran:.1f} s, "
          f"grade --jobs 2 in {graded:.1f} s")
