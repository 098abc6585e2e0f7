"""Lesson 01's temperature explorer: the teacher's softened distribution for one example as T moves."""

from __future__ import annotations

from dataclasses import dataclass

from coursekit.widgets._base import Explorer

__all__ = ["TemperatureExplorer", "TemperatureView", "temperature_explorer", "temperature_view"]


@dataclass(frozen=True, repr=False)
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


class TemperatureExplorer(Explorer):
    """The temperature explorer: ``slider`` (T), ``readout``, ``view``; ``update(T)`` sets T."""

    def __init__(self, slider, view_fn):
        self.slider = slider
        super().__init__({"temperature": slider}, view_fn, readout=True)

    def update(self, temperature: float | None = None, **values):
        if temperature is not None:
            values["temperature"] = temperature
        return super().update(**values)


def temperature_explorer(teacher_logits=None, student_logits=None, *, image=None, temperature: float = 4.0,
                         class_names=None, true_class: int | None = None, digit: int = 3):
    """A slider for the temperature T (0.5 to 20) showing the teacher's softened distribution as bars,
    its entropy and — given ``student_logits`` — the soft loss and its gradient norm, with and without T².

    Without ``teacher_logits`` it shows the pretrained teacher (``pretrained("teacher")``) on the first
    test image of ``digit``. Returns the widget (a :class:`TemperatureExplorer`); ``widget.slider`` is
    the slider, ``widget.view`` the latest :class:`TemperatureView` and ``widget.update(T)`` sets a
    temperature without a browser.
    """
    import ipywidgets as widgets

    from coursekit._validate import check_int

    if teacher_logits is None:
        check_int("digit", digit, "temperature_explorer", low=0, high=9)
        teacher_logits, image, class_names = _default_example(digit)
        true_class = digit if true_class is None else true_class
    first = temperature_view(teacher_logits, temperature, student_logits, image=image,
                             class_names=class_names, true_class=true_class)  # validates early
    slider = widgets.FloatSlider(value=first.temperature, min=0.5, max=20.0, step=0.5, description="T",
                                 continuous_update=False, readout_format=".1f")

    def view(temperature):
        return temperature_view(teacher_logits, temperature, student_logits, image=image,
                                class_names=class_names, true_class=true_class)

    return TemperatureExplorer(slider, view)
