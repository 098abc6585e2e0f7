"""The ipywidgets explorers. Each explorer's logic is a plain function (tested without a browser);
the widget only wires a slider to it and shows the figure it returns."""

from __future__ import annotations

__all__: list[str] = []


# --- lesson 01: temperature_explorer below this line ---

__all__ += ["TemperatureView", "temperature_explorer", "temperature_view"]

import dataclasses as _dataclasses  # noqa: E402


@_dataclasses.dataclass(frozen=True, repr=False)
class TemperatureView:
    """What the temperature explorer shows for one temperature."""

    temperature: float
    probabilities: object  # softmax(teacher_logits / T), a 1-D tensor
    entropy: float  # of ``probabilities``, in bits (0 = one-hot, log2(classes) = uniform)
    max_entropy: float  # log2(number of classes)
    student_probabilities: object = None  # softmax(student_logits / T), if student logits were given
    soft_loss: float | None = None  # T² · KL(teacher ‖ student) at this T
    grad_norm: float | None = None  # ‖∂ soft_loss / ∂ student_logits‖ = T · ‖q − p‖
    grad_norm_without_t2: float | None = None  # the same without the T² factor: ‖q − p‖ / T
    figure: object = None  # matplotlib Figure

    def __repr__(self) -> str:
        text = f"TemperatureView(T={self.temperature:g}, entropy={self.entropy:.3f} bits"
        if self.soft_loss is not None:
            text += f", soft_loss={self.soft_loss:.4f}, grad_norm={self.grad_norm:.4f}"
        return text + ")"

    def summary(self) -> str:
        """One line with the numbers the explorer prints under its slider."""
        text = f"T = {self.temperature:g}: entropy {self.entropy:.2f} of {self.max_entropy:.2f} bits"
        if self.soft_loss is not None:
            text += (f" · soft loss T²·KL = {self.soft_loss:.3f} · gradient norm {self.grad_norm:.3f}"
                     f" (without T²: {self.grad_norm_without_t2:.4f})")
        return text


def _one_example_logits(name: str, logits, func: str):
    import torch

    from coursekit._validate import _fail, check_type

    check_type(name, logits, func, torch.Tensor, "a torch.Tensor of logits for one example")
    if logits.dim() == 2 and logits.shape[0] == 1:
        logits = logits[0]
    if logits.dim() != 1 or logits.numel() < 2 or not logits.is_floating_point():
        _fail(name, func, "a float tensor of logits for one example, shaped (classes,) or (1, classes)",
              logits, got=f"a {logits.dtype} tensor of shape {tuple(logits.shape)}")
    return logits.detach().float()


def temperature_view(teacher_logits, temperature: float, student_logits=None, *, image=None,
                     class_names=None, true_class: int | None = None) -> TemperatureView:
    """The teacher's softened distribution at ``temperature`` for one example, its entropy, and —
    given the student's logits for the same example — the soft loss and the size of its gradient."""
    import math

    import torch

    from coursekit._validate import _fail, check_float
    from coursekit.distill import kd_loss, soft_targets
    from coursekit.plots import temperature_figure

    func = "temperature_view"
    teacher = _one_example_logits("teacher_logits", teacher_logits, func)
    temperature = check_float("temperature", temperature, func, low=0, closed="neither")
    probs = soft_targets(teacher, temperature)
    entropy = -(probs * torch.log2(probs.clamp_min(1e-30))).sum().item()
    extra = {}
    if student_logits is not None:
        student = _one_example_logits("student_logits", student_logits, func)
        if student.shape != teacher.shape:
            _fail("student_logits", func, f"logits for the same {teacher.numel()} classes as teacher_logits",
                  student_logits, got=f"shape {tuple(student_logits.shape)}")
        z = student.clone().requires_grad_(True)
        target = teacher.argmax().reshape(1)  # unused by the soft term (alpha = 0)
        soft = kd_loss(z[None], teacher[None], target, temperature=temperature, alpha=0.0).soft
        (grad,) = torch.autograd.grad(soft, z)
        extra = dict(student_probabilities=soft_targets(student, temperature), soft_loss=soft.item(),
                     grad_norm=grad.norm().item(), grad_norm_without_t2=grad.norm().item() / temperature**2)
    title = f"T = {temperature:g}: entropy {entropy:.2f} bits"
    if extra:
        title += f", soft loss {extra['soft_loss']:.3f}"
    figure = temperature_figure(probs, student=extra.get("student_probabilities"), image=image,
                                class_names=class_names, true_class=true_class, title=title)
    return TemperatureView(temperature, probs, entropy, math.log2(teacher.numel()), figure=figure, **extra)


def _png(figure):
    """A figure as a PNG image for display (needs no matplotlib backend in the kernel)."""
    import io

    from IPython.display import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return Image(data=buffer.getvalue(), format="png")


def _default_example(digit: int):
    """The pretrained teacher's logits for the first test image of ``digit``, and that image."""
    from coursekit.data import load_dataset
    from coursekit.distill import compute_logits
    from coursekit.pretrained import pretrained

    splits = load_dataset("digits")
    images, labels = splits.test.tensors
    index = int((labels == digit).nonzero()[0])
    logits = compute_logits(pretrained("teacher", progress=False), images[index:index + 1])
    return logits[0], images[index], splits.class_names


def temperature_explorer(teacher_logits=None, student_logits=None, *, image=None, temperature: float = 4.0,
                         class_names=None, true_class: int | None = None, digit: int = 3):
    """A slider for the temperature T (0.5 to 20) showing the teacher's softened distribution as bars,
    its entropy and — given ``student_logits`` — the soft loss and its gradient norm, with and without T².

    Without ``teacher_logits`` it shows the pretrained teacher (``pretrained("teacher")``) on the first
    test image of ``digit``. Returns the widget; ``widget.slider`` is the slider, ``widget.view`` the
    latest :class:`TemperatureView` and ``widget.update(T)`` sets a temperature without a browser.
    """
    import ipywidgets as widgets
    from IPython.display import display

    from coursekit._validate import check_int

    if teacher_logits is None:
        check_int("digit", digit, "temperature_explorer", low=0, high=9)
        teacher_logits, image, class_names = _default_example(digit)
        true_class = digit if true_class is None else true_class
    first = temperature_view(teacher_logits, temperature, student_logits, image=image,
                             class_names=class_names, true_class=true_class)  # validates early
    slider = widgets.FloatSlider(value=first.temperature, min=0.5, max=20.0, step=0.5, description="T",
                                 continuous_update=False, readout_format=".1f")
    readout = widgets.HTML()
    out = widgets.Output()
    box = widgets.VBox([slider, readout, out])

    @out.capture(clear_output=True, wait=True)
    def show(view):
        box.view = view
        readout.value = view.summary()
        display(_png(view.figure))

    def on_change(change):
        show(temperature_view(teacher_logits, change["new"], student_logits, image=image,
                              class_names=class_names, true_class=true_class))

    def update(value: float):
        slider.value = value  # fires on_change (clamped to the slider's range) when the value changes
        return box.view

    slider.observe(on_change, names="value")
    show(first)
    box.slider, box.readout, box.update = slider, readout, update
    return box


# --- lesson 02: sparsity_explorer below this line ---

__all__ += ["SparsityView", "sparsity_explorer", "sparsity_view"]

from dataclasses import dataclass as _dataclass  # noqa: E402


@_dataclass(frozen=True, repr=False)
class SparsityView:
    """What the sparsity explorer shows for one setting."""

    method: str
    sparsity: float  # the requested sparsity
    achieved: float  # the measured sparsity of the prunable weights
    accuracy: float  # on the explorer's loader, in [0, 1]
    layer_sparsities: dict  # layer name -> sparsity
    figure: object  # matplotlib Figure

    def __repr__(self) -> str:
        return (f"SparsityView({self.method!r}, sparsity={self.sparsity:.0%}, achieved={self.achieved:.1%}, "
                f"accuracy={self.accuracy:.2%})")


def sparsity_view(model, loader, sparsity: float, method: str = "magnitude (global)", *,
                  calibration_loader=None, seed: int = 0) -> SparsityView:
    """Prune a copy of ``model`` with ``method`` at ``sparsity`` and measure it (``model`` is untouched).

    With ``calibration_loader``, BatchNorm statistics are first re-estimated on its first
    ``prune.CALIBRATION_BATCHES`` batches (see ``prune.recalibrate_batchnorm``), as lesson 02
    does, so the explorer and the lesson show the same number for the same setting. Returns the
    accuracy on ``loader``, the per-layer sparsities and the figure the explorer shows.
    """
    import torch
    from torch import nn
    from torch.utils.data import DataLoader

    from coursekit import batchnorm, prune
    from coursekit._validate import check_choice, check_float, check_int, check_type
    from coursekit.plots import sparsity_view_figure
    from coursekit.train import evaluate

    func = "sparsity_view"
    check_type("model", model, func, nn.Module, "a torch.nn.Module")
    check_type("loader", loader, func, DataLoader, "a torch.utils.data.DataLoader")
    sparsity = check_float("sparsity", sparsity, func, low=0, high=1)
    check_choice("method", method, func, prune.METHODS)
    if calibration_loader is not None:
        check_type("calibration_loader", calibration_loader, func, DataLoader, "a DataLoader or None")
    check_int("seed", seed, func, low=0)
    pruned = prune.prune_with(prune.clone_model(model), sparsity, method, seed=seed)
    if calibration_loader is not None:
        batchnorm.recalibrate_batchnorm(pruned, calibration_loader, batches=prune.CALIBRATION_BATCHES)
    accuracy = evaluate(pruned, loader).accuracy
    report = prune.sparsity_report(pruned)
    with torch.no_grad():
        dense = torch.cat([prune.effective_weight(m).flatten() for _, m in prune.prunable_layers(model)])
        kept = torch.cat([prune.effective_weight(m).flatten() for _, m in prune.prunable_layers(pruned)])
    kept = kept[kept != 0]
    title = (f"{method}: target {sparsity:.0%}, achieved {report.sparsity:.1%} → "
             f"accuracy {accuracy:.1%}")
    figure = sparsity_view_figure(report.as_dict(), dense, kept, title=title)
    return SparsityView(method, sparsity, report.sparsity, accuracy, report.as_dict(), figure)


def sparsity_explorer(model, loader, *, calibration_loader=None, sparsity: float = 0.5,
                      method: str = "magnitude (global)"):
    """A slider (sparsity 0-0.99) and a method choice that prune a copy of ``model`` and show the result.

    The caller's model is never modified: every update prunes a fresh copy of a snapshot taken now.
    With ``calibration_loader``, a checkbox re-estimates BatchNorm statistics after pruning.
    Returns the widget (display it, or leave it as the cell's last expression).
    """
    import ipywidgets as widgets
    from IPython.display import display
    from torch import nn

    from coursekit import prune
    from coursekit._validate import check_choice, check_float, check_type

    func = "sparsity_explorer"
    snapshot = prune.clone_model(check_type("model", model, func, nn.Module, "a torch.nn.Module"))
    check_float("sparsity", sparsity, func, low=0, high=0.99)
    check_choice("method", method, func, prune.METHODS)
    slider = widgets.FloatSlider(value=sparsity, min=0.0, max=0.99, step=0.01, description="sparsity",
                                 continuous_update=False, readout_format=".0%")
    choice = widgets.Dropdown(options=list(prune.METHODS), value=method, description="method")
    recal = widgets.Checkbox(value=calibration_loader is not None, description="re-estimate BatchNorm statistics",
                             disabled=calibration_loader is None, indent=False, layout=widgets.Layout(width="auto"))
    out = widgets.Output()

    @out.capture(clear_output=True, wait=True)
    def update(_=None):
        view = sparsity_view(snapshot, loader, slider.value, choice.value,
                             calibration_loader=calibration_loader if recal.value else None)
        display(_png(view.figure))  # a PNG, whether or not the notebook enabled inline figures

    for w in (slider, choice, recal):
        w.observe(update, names="value")
    update()
    box = widgets.VBox([widgets.HBox([slider, choice, recal]), out])
    box.update = update  # for tests and for a manual refresh
    box.controls = {"sparsity": slider, "method": choice, "recalibrate": recal}
    return box
