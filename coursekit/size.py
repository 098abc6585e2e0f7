"""Bytes on disk: how big a model's file is, saved as it is, dense, compressed, or in a sparse format.

A model's size is what ``torch.save`` writes, not its parameter count times four: masks, buffers and
the container format count too. :func:`size_on_disk` saves a model four ways (in memory, nothing is
written); :func:`file_size` measures a file that exists. Lessons 02 (pruning), 03 (quantization) and
05 (deployment) all report sizes through this module.
"""

from __future__ import annotations

import io
import os
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from coursekit._validate import check_type

__all__ = ["SizeOnDisk", "dense_state_dict", "file_size", "from_sparse_state_dict", "saved_bytes", "size_on_disk",
           "to_sparse_state_dict"]


def _check_model(model, func: str) -> nn.Module:
    return check_type("model", model, func, nn.Module, "a torch.nn.Module")


def dense_state_dict(model: nn.Module) -> dict:
    """``model``'s state_dict with every pruning mask folded in (``w = w_orig * w_mask`` saved as ``w``).

    What ``torch.save`` would write after ``coursekit.prune.remove_pruning``, without touching the
    model: pruned entries are stored zeros, and there are no ``*_orig`` / ``*_mask`` entries.
    """
    _check_model(model, "dense_state_dict")
    state = model.state_dict()
    out = OrderedDict()  # like a state_dict: with its version metadata, which torch.save writes too
    out._metadata = getattr(state, "_metadata", None)
    for name, tensor in state.items():
        if name.endswith("_mask") and name[:-5] + "_orig" in state:
            continue
        if name.endswith("_orig") and name[:-5] + "_mask" in state:
            base = name[:-5]
            out[base] = (tensor * state[base + "_mask"]).detach().clone()
        else:
            out[name] = tensor
    return out


def to_sparse_state_dict(model: nn.Module) -> dict:
    """The model's state_dict with every tensor that is mostly zeros stored as a bitmask + its non-zeros.

    A 1-bit-per-entry mask (packed 8 per byte) plus the non-zero values: at sparsity s, about
    (1 - s) * 4 + 1/8 bytes per weight instead of 4. Masks are folded in first (the model is unchanged).
    """
    _check_model(model, "to_sparse_state_dict")
    out = {}
    for name, t in dense_state_dict(model).items():
        if t.is_floating_point() and t.numel() >= 64 and (t == 0).float().mean() > 0.5:
            nz = t != 0
            bits = np.packbits(nz.reshape(-1).cpu().numpy())
            out[name] = {"shape": tuple(t.shape), "bits": torch.from_numpy(bits), "values": t[nz].clone()}
        else:
            out[name] = t
    return out


def from_sparse_state_dict(sparse: dict) -> dict:
    """Inverse of :func:`to_sparse_state_dict`: a dense state_dict for ``load_state_dict``."""
    check_type("sparse", sparse, "from_sparse_state_dict", dict, "a dict from to_sparse_state_dict")
    state = {}
    for name, v in sparse.items():
        if isinstance(v, dict):
            n = int(np.prod(v["shape"]))
            nz = torch.from_numpy(np.unpackbits(v["bits"].numpy(), count=n).astype(bool))
            dense = torch.zeros(n, dtype=v["values"].dtype)
            dense[nz] = v["values"].cpu()
            state[name] = dense.view(v["shape"])
        else:
            state[name] = v
    return state


def saved_bytes(obj) -> bytes:
    """What ``torch.save(obj, file)`` would write, as bytes (nothing is written to disk)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class SizeOnDisk:
    state_dict_bytes: int  # torch.save(model.state_dict()) as it is (with masks: orig + mask)
    dense_bytes: int  # masks folded in: zeros stored as float32 zeros
    zlib_bytes: int  # the dense file compressed with zlib
    sparse_bytes: int  # to_sparse_state_dict (bitmask + non-zeros)

    def __repr__(self) -> str:
        kib = lambda b: f"{b / 1024:.1f} KiB"  # noqa: E731
        return (f"SizeOnDisk(state_dict={kib(self.state_dict_bytes)}, dense={kib(self.dense_bytes)}, "
                f"zlib={kib(self.zlib_bytes)}, sparse={kib(self.sparse_bytes)})")


def size_on_disk(model: nn.Module) -> SizeOnDisk:
    """Bytes of the model saved four ways (see :class:`SizeOnDisk`); the model is unchanged."""
    _check_model(model, "size_on_disk")
    dense = saved_bytes(dense_state_dict(model))
    return SizeOnDisk(len(saved_bytes(model.state_dict())), len(dense), len(zlib.compress(dense, 6)),
                      len(saved_bytes(to_sparse_state_dict(model))))


def file_size(path: str | os.PathLike) -> int:
    """Bytes of the file at ``path`` (for an ONNX model use ``coursekit.export.onnx_size_bytes``,
    which adds its external weight file)."""
    check_type("path", path, "file_size", (str, os.PathLike), "a path (str or os.PathLike)")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The 'path' parameter of file_size must name an existing file. "
                                f"Got {str(path)!r} instead.")
    return path.stat().st_size
