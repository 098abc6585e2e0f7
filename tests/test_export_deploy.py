"""Lesson 05 additions to coursekit.export (.pt2 round trip, parity, compile detection) and cold start."""

import numpy as np
import pytest
import torch
from torch import nn

from coursekit.artefact import ColdStart, cold_start
from coursekit.export import (
    OnnxModel,
    Parity,
    ProgramModel,
    compile_available,
    explain_export_error,
    export_program,
    load_program,
    parity,
    to_onnx,
)


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(4 * 64, 10))

    def forward(self, x):  # to_onnx names the input "x"
        return self.body(x)


def tiny_cnn():
    torch.manual_seed(0)
    return TinyCNN()


@pytest.fixture(scope="module")
def program_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pt2") / "tiny.pt2"
    model = tiny_cnn().train()
    export_program(model, path, torch.randn(2, 1, 8, 8))
    assert model.training  # mode restored
    return path


def test_export_program_round_trip_gives_the_same_logits_at_any_batch(program_file):
    model = tiny_cnn().eval()
    loaded = load_program(program_file)
    assert isinstance(loaded, ProgramModel)
    for batch in (1, 5, 64):  # exported at batch 2: the batch dimension is dynamic
        x = torch.randn(batch, 1, 8, 8)
        assert torch.allclose(loaded(x), model(x), atol=1e-6)


def test_loaded_program_accepts_eval_and_train():
    pytest.importorskip("torch.export")
    # the traced graph itself refuses eval(); the wrapper must not pass it on
    loaded = ProgramModel.__new__(ProgramModel)
    nn.Module.__init__(loaded)
    loaded.graph = nn.Identity()
    assert loaded.eval() is loaded and not loaded.training
    assert loaded.train() is loaded and loaded.training


def test_export_program_names_the_bad_argument(tmp_path):
    with pytest.raises(TypeError, match="'model' parameter of export_program"):
        export_program("not a model", tmp_path / "x.pt2", torch.randn(1, 3))
    with pytest.raises(ValueError, match="'example_input' parameter of export_program"):
        export_program(nn.Linear(3, 2), tmp_path / "x.pt2", torch.randn(0, 3))
    with pytest.raises(FileNotFoundError, match="'path' parameter of load_program"):
        load_program(tmp_path / "missing.pt2")


def test_parity_reports_largest_difference_and_agreement():
    x = torch.randn(50, 10)

    def shifted(batch):  # adds 0.25 to every logit except on the first 5 rows, where it swaps the top class
        out = batch + 0.25
        out[:5] = -batch[:5]
        return out

    batches = [x[:20], x[20:]]
    result = parity(lambda b: b, shifted, batches)
    assert isinstance(result, Parity) and result.n == 50
    other = torch.cat([shifted(b) for b in batches])  # per batch, as parity calls it
    assert result.max_abs_diff == pytest.approx(float((x - other).abs().max()), rel=1e-6)
    same = (x.argmax(1) == other.argmax(1)).float().mean().item()
    assert result.agreement == pytest.approx(same)
    assert not result.ok()


def test_parity_accepts_a_loader_of_pairs_and_restores_modes():
    model = tiny_cnn().train()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(10, 1, 8, 8),
                                                                        torch.zeros(10, dtype=torch.long)), batch_size=4)
    result = parity(model, model, loader)
    assert result.max_abs_diff == 0.0 and result.agreement == 1.0 and result.n == 10 and result.ok()
    assert model.training


def test_parity_rejects_mismatched_shapes_and_empty_inputs():
    with pytest.raises(ValueError, match="different shapes"):
        parity(lambda b: b, lambda b: b[:, :3], torch.randn(2, 5))
    with pytest.raises(ValueError, match="at least one example"):
        parity(lambda b: b, lambda b: b, [])
    with pytest.raises(TypeError, match="'b' parameter of parity"):
        parity(lambda b: b, 3, torch.randn(2, 5))


def test_onnx_and_program_agree_with_torch(tmp_path, program_file):
    model = tiny_cnn().eval()
    x = torch.randn(30, 1, 8, 8)
    onnx_model = OnnxModel(to_onnx(model, tmp_path / "tiny.onnx", x[:2]), threads=1)
    for other in (onnx_model, load_program(program_file)):
        assert parity(model, other, x).ok(atol=1e-4)


def test_cold_start_runs_a_fresh_process(tmp_path):
    model = tiny_cnn().eval()
    path = to_onnx(model, tmp_path / "tiny.onnx", torch.randn(2, 1, 8, 8))
    result = cold_start(path, torch.randn(1, 1, 8, 8))
    assert isinstance(result, ColdStart) and result.runtime == "onnxruntime"
    assert min(result.import_s, result.load_s, result.first_answer_s, result.second_answer_s) > 0
    assert result.process_s > result.ready_s  # the interpreter's start is on top


def test_cold_start_rejects_other_files(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="must end in .onnx or .pt2"):
        cold_start(tmp_path / "model.bin", np.zeros((1, 3), np.float32))
    with pytest.raises(FileNotFoundError, match="'path' parameter of cold_start"):
        cold_start(tmp_path / "none.onnx", np.zeros((1, 3), np.float32))


def test_compile_available_reports_a_reason(monkeypatch):
    support = compile_available()
    assert isinstance(support.reason, str) and support.reason
    monkeypatch.setenv("COURSEKIT_NO_COMPILE", "1")
    assert not compile_available() and "COURSEKIT_NO_COMPILE" in compile_available().reason
    monkeypatch.delenv("COURSEKIT_NO_COMPILE")
    monkeypatch.setenv("CXX", "no-such-compiler-xyz")
    missing = compile_available()
    assert not missing.ok and "no C++ compiler" in missing.reason and "no-such-compiler-xyz" in missing.reason


class ValueDependent(nn.Module):
    def forward(self, x):
        if x.mean() > 0:  # an `if` on a tensor's value: one graph cannot hold both branches
            return x * 2
        return x


def test_export_failure_is_raised_and_explained(tmp_path):
    with pytest.raises(Exception) as caught:
        export_program(ValueDependent(), tmp_path / "bad.pt2", torch.randn(3, 4))
    summary = explain_export_error(caught.value)
    first = summary.splitlines()[0]
    assert first.startswith(type(caught.value).__name__ + ": ")
    assert "in forward" in summary  # points at the user's line
    assert len(summary.splitlines()) <= 8
