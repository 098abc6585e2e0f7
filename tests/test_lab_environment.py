"""The lab a learner gets from `make lab` / `python -m coursekit lab`, checked against a real server
started the same way (coursekit.course.setup.lab_command + lab_environment + the server settings that
`setup-lab` writes): the lab's Terminal finds the course's python and coursekit even when the learner's
~/.bashrc puts something else first on PATH, a kernel starts without the "running over TCP without
encryption" and "websocket_ping_timeout" warnings, and coursekit.egg-info is hidden."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from coursekit.course import setup as cs

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.notebook  # starts a kernel

websocket = pytest.importorskip("websocket", reason="websocket-client comes with jupyter_server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    bash = shutil.which("bash")
    if bash is None or os.name == "nt":
        pytest.skip("the lab's Terminal settings are for bash on Linux and macOS")
    tmp = tmp_path_factory.mktemp("lab")
    home, config = tmp / "home", tmp / "config"
    home.mkdir()
    config.mkdir()
    # a learner's ~/.bashrc that puts another Python first (as pyenv, conda or ~/.local/bin do)
    decoy = tmp / "decoy"
    decoy.mkdir()
    (decoy / "python").write_text("#!/bin/sh\necho decoy-python\n")
    (decoy / "python").chmod(0o755)
    (home / ".bashrc").write_text(f'export PATH="{decoy}:$PATH"\n')
    rc = tmp / "terminal-rc"
    rc.write_text(cs.terminal_rc(Path(sys.prefix)))
    settings = cs.server_config(Path(sys.prefix), bash=bash, rc_path=rc)
    (config / "jupyter_server_config.json").write_text(json.dumps(settings))

    token, port = secrets.token_hex(8), _free_port()
    # the kernel settings setup-lab writes into the environment's etc/ipython, here in a profile
    profile = tmp / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.json").write_text(json.dumps(cs.KERNEL_CONFIG))
    env = cs.lab_environment(ROOT, {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(config),
                                    "IPYTHONDIR": str(tmp / "ipython")})
    env.pop("JUPYTER_DATA_DIR", None)
    cmd = cs.lab_command(ROOT, ["--no-browser", "--ip=127.0.0.1", f"--port={port}",
                                f"--IdentityProvider.token={token}"], as_root=os.geteuid() == 0)
    log_path = tmp / "lab.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def api(path, method="GET", body=None):
        req = urllib.request.Request(f"{base}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as response:
            data = response.read()
        return json.loads(data) if data else None

    try:
        for _ in range(180):
            if proc.poll() is not None:
                pytest.fail(f"the lab exited: {log_path.read_text()[-2000:]}")
            try:
                api("/api/status")
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the lab did not start within 90 s")
        yield SimpleLab(base, token, api, log_path, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)


class SimpleLab:
    def __init__(self, base, token, api, log_path, port):
        self.base, self.token, self.api, self.log_path, self.port = base, token, api, log_path, port

    def ws(self, path):
        return websocket.create_connection(f"ws://127.0.0.1:{self.port}{path}?token={self.token}", timeout=60)


def test_the_lab_terminal_finds_the_course_environment(lab):
    name = lab.api("/api/terminals", "POST", {})["name"]
    ws = lab.ws(f"/terminals/websocket/{name}")
    try:
        ws.send(json.dumps(["stdin", "echo PY=$(command -v python) VENV=$VIRTUAL_ENV; "
                                     "python -c 'import coursekit.course.setup, sys; print(\"PREFIX=\" + sys.prefix)'; "
                                     "command -v coursekit >/dev/null && echo CLI=ok; echo END-OF-CHECK\r"]))
        out, deadline = "", time.monotonic() + 60
        while out.count("END-OF-CHECK") < 2 and time.monotonic() < deadline:  # the echo of the line, then the output
            kind, *payload = json.loads(ws.recv())
            if kind == "stdout":
                out += payload[0]
    finally:
        ws.close()
        lab.api(f"/api/terminals/{name}", "DELETE")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", out).replace("\r", "")
    found = {m.group(1): m.group(2) for m in re.finditer(r"^(PY|PREFIX|CLI)=(\S+)", text, re.M)}
    assert {"PY", "PREFIX", "CLI"} <= set(found), f"the Terminal printed:\n{text[-1500:]}"
    assert "decoy" not in found["PY"], f"the learner's ~/.bashrc won: {found['PY']}"
    assert Path(found["PY"]).parent.resolve() == (Path(sys.prefix) / "bin").resolve(), found["PY"]
    assert Path(found["PREFIX"]).resolve() == Path(sys.prefix).resolve()
    assert found["CLI"] == "ok"


def test_a_kernel_starts_without_transport_or_websocket_warnings(lab):
    kernel = lab.api("/api/kernels", "POST", {"name": "python3"})
    ws = lab.ws(f"/api/kernels/{kernel['id']}/channels")
    try:
        msg_id = secrets.token_hex(4)
        msg = {"header": {"msg_id": msg_id, "username": "t", "session": secrets.token_hex(4),
                          "msg_type": "execute_request", "version": "5.3", "date": ""},
               "parent_header": {}, "metadata": {}, "channel": "shell",
               "content": {"code": "import os; print(os.environ['VIRTUAL_ENV'])", "silent": False}}
        ws.send(json.dumps(msg))
        out, deadline = "", time.monotonic() + 90
        while time.monotonic() < deadline:
            reply = json.loads(ws.recv())
            if reply.get("msg_type") == "stream":
                out += reply["content"]["text"]
            # the stream (iopub) may arrive after the execute_reply (shell): wait for the kernel's
            # "idle" for this request, which iopub sends after every output of it
            if (reply.get("msg_type") == "status" and reply["content"].get("execution_state") == "idle"
                    and reply.get("parent_header", {}).get("msg_id") == msg_id):
                break
    finally:
        ws.close()
        lab.api(f"/api/kernels/{kernel['id']}", "DELETE")
    assert out.strip() == str(ROOT / ".venv")
    log = lab.log_path.read_text()
    assert "without encryption" not in log
    assert "websocket_ping_timeout" not in log


def test_build_artefacts_are_hidden_from_the_file_browser(lab, tmp_path):
    egg = ROOT / "coursekit.egg-info"
    made = not egg.exists()
    egg.mkdir(exist_ok=True)
    try:
        names = {item["name"] for item in lab.api("/api/contents/?content=1")["content"]}
    finally:
        if made:
            egg.rmdir()
    assert "coursekit.egg-info" not in names and "notebooks" in names
