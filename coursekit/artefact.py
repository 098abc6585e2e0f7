"""The deployable artefact, and cold start: what happens outside the notebook's process.

- ``write_artefact(model, folder, example_input) -> Artefact``: the deployable folder — ``model.onnx``
  (one file, weights inside), ``serve.py`` (the template ``SERVE_PY``: a ~40-line script that needs
  only ``onnxruntime`` and ``numpy``, answering ``.npy`` batches or HTTP requests on 127.0.0.1) and
  ``requirements.txt`` with the versions it was written with.
- ``cold_start(path, example) -> ColdStart``: a fresh Python process imports the runtime, loads an
  ``.onnx`` or ``.pt2`` file and answers one request, twice; the time of each step.

Nothing here imports torch at module level (the artefact must not need it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coursekit._validate import check_type

__all__ = ["SERVE_PY", "Artefact", "ColdStart", "cold_start", "write_artefact"]


# --- cold start: a fresh process loads the file and answers one request -------------------------

@dataclass(frozen=True)
class ColdStart:
    import_s: float  # importing the runtime (onnxruntime, or torch) in the fresh process
    load_s: float  # reading the file and building the model / session
    first_answer_s: float  # the first request (includes one-off set-up inside the runtime)
    second_answer_s: float  # the next, identical request: what a warm server pays
    process_s: float  # wall time of the whole process as the parent saw it, interpreter start included
    runtime: str  # "onnxruntime" or "torch.export"

    @property
    def ready_s(self) -> float:
        """Import + load + first answer: how long a new replica takes to answer its first request."""
        return self.import_s + self.load_s + self.first_answer_s

    def __repr__(self) -> str:
        return (f"ColdStart({self.runtime}: import {self.import_s * 1e3:.0f} ms, load {self.load_s * 1e3:.0f} ms, "
                f"first answer {self.first_answer_s * 1e3:.1f} ms, second {self.second_answer_s * 1e3:.2f} ms, "
                f"process {self.process_s:.2f} s)")


_COLD_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
path, example, runtime = sys.argv[1], np.load(sys.argv[2]), sys.argv[3]
if runtime == "onnxruntime":
    import onnxruntime as ort
    t1 = time.perf_counter()
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    answer = lambda: session.run(None, {name: example})[0]
else:
    import torch
    torch.set_num_threads(1)
    t1 = time.perf_counter()
    graph = torch.export.load(path).module()
    x = torch.from_numpy(example)
    def answer():
        with torch.inference_mode():
            return graph(x).numpy()
t2 = time.perf_counter()
out = answer()
t3 = time.perf_counter()
answer()
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_answer_s": t3 - t2, "second_answer_s": t4 - t3,
                  "shape": list(out.shape)}))
"""


def cold_start(path: str | Path, example, *, timeout_s: float = 120.0) -> ColdStart:
    """Start a fresh Python process that loads ``path`` and answers ``example`` (one batch), twice.

    ``.onnx`` files run in ONNX Runtime (the child never imports torch), ``.pt2`` files in torch;
    both with one thread. The child inherits this process's environment; its own timings of each
    step come back, and ``process_s`` adds the interpreter's start and exit.
    """
    func = "cold_start"
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The 'path' parameter of {func} must name an .onnx or .pt2 file. "
                                f"Got {str(path)!r}, which does not exist.")
    suffixes = {".onnx": "onnxruntime", ".pt2": "torch.export"}
    if path.suffix not in suffixes:
        raise ValueError(f"The 'path' parameter of {func} must end in .onnx or .pt2. Got {path.name!r} instead.")
    if hasattr(example, "detach"):  # a torch tensor (torch itself is not imported by this module)
        example = example.detach().cpu().numpy()
    check_type("example", example, func, np.ndarray, "a batch (torch tensor or numpy array)")
    with tempfile.TemporaryDirectory() as tmp:
        example_file = Path(tmp) / "example.npy"
        np.save(example_file, np.ascontiguousarray(example, dtype=np.float32))
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _COLD_SCRIPT, str(path), str(example_file), suffixes[path.suffix]],
                              capture_output=True, text=True, timeout=timeout_s)
        process_s = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{func}: the fresh process failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return ColdStart(import_s=result["import_s"], load_s=result["load_s"], first_answer_s=result["first_answer_s"],
                     second_answer_s=result["second_answer_s"], process_s=process_s, runtime=suffixes[path.suffix])


# --- the self-contained artefact ----------------------------------------------------------------

SERVE_PY = '''\
"""Answer requests with model.onnx, using only onnxruntime and numpy (no torch).

  python serve.py in.npy out.npy   # a batch (N, 1, 8, 8) float32 -> logits (N, 10) saved to out.npy
  python serve.py --http 8000      # POST {"inputs": [[...]]} to http://127.0.0.1:8000 -> logits and labels
Inputs are digits preprocessed as in training (coursekit.data). THREADS sets ONNX Runtime's threads (1).
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import onnxruntime as ort

options = ort.SessionOptions()
options.intra_op_num_threads = int(os.environ.get("THREADS", "1"))
session = ort.InferenceSession(str(Path(__file__).with_name("model.onnx")), options, providers=["CPUExecutionProvider"])
INPUT = session.get_inputs()[0].name


def predict(batch):
    return session.run(None, {INPUT: np.ascontiguousarray(batch, dtype=np.float32)})[0]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        logits = predict(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["inputs"])
        body = json.dumps({"logits": logits.tolist(), "labels": logits.argmax(1).tolist()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet: one line per request would drown the timings
        pass


if __name__ == "__main__":
    if sys.argv[1] == "--http":
        HTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
    else:
        np.save(sys.argv[2], predict(np.load(sys.argv[1])))
'''


@dataclass(frozen=True)
class Artefact:
    folder: Path
    files: tuple  # names inside the folder
    size_bytes: int  # all files together

    @property
    def model(self) -> Path:
        return self.folder / "model.onnx"

    @property
    def script(self) -> Path:
        return self.folder / "serve.py"

    def __repr__(self) -> str:
        return f"Artefact({str(self.folder)!r}, files={list(self.files)}, size={self.size_bytes / 1024:.1f} KiB)"


def write_artefact(model, folder, example_input) -> Artefact:
    """Write ``folder/model.onnx`` (weights inside the one file), ``serve.py`` and ``requirements.txt``."""
    import onnx
    import onnxruntime
    import torch

    from coursekit.export import to_onnx

    func = "write_artefact"
    check_type("model", model, func, torch.nn.Module, "a torch.nn.Module")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file() and old.name.startswith("model.onnx"):
            old.unlink()
    exported = to_onnx(model, folder / "_export" / "model.onnx", example_input)
    graph = onnx.load(str(exported))  # pulls the external weights in
    onnx.save_model(graph, str(folder / "model.onnx"), save_as_external_data=False)
    for leftover in sorted(exported.parent.iterdir()):
        leftover.unlink()
    exported.parent.rmdir()
    (folder / "serve.py").write_text(SERVE_PY, encoding="utf-8")
    (folder / "requirements.txt").write_text(f"onnxruntime=={onnxruntime.__version__}\nnumpy=={np.__version__}\n",
                                             encoding="utf-8")
    files = ("model.onnx", "requirements.txt", "serve.py")
    return Artefact(folder=folder, files=files, size_bytes=sum((folder / f).stat().st_size for f in files))
