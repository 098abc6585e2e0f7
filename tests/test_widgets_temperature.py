"""The temperature explorer (lesson 01) without a browser: its update function and its widget state,
plus the lesson's static temperature figure."""

from __future__ import annotations

import math

import pytest
import torch
from matplotlib.figure import Figure

from coursekit import plots
from coursekit.distill import kd_loss, soft_targets
from coursekit.widgets import TemperatureView, temperature_explorer, temperature_view


def test_view_holds_the_softened_distribution_and_its_entropy():
    z = torch.tensor([6.0, 2.0, 1.0, -1.0])
    view = temperature_view(z, 2.0)
    assert isinstance(view, TemperatureView) and isinstance(view.figure, Figure)
    assert torch.allclose(view.probabilities, soft_targets(z, 2.0))
    p = soft_targets(z, 2.0)
    assert view.entropy == pytest.approx(-(p * p.log2()).sum().item(), rel=1e-5)
    assert view.max_entropy == pytest.approx(2.0)
    assert view.soft_loss is None and view.grad_norm is None and view.student_probabilities is None
    assert "T=2" in repr(view) and "entropy" in view.summary()


def test_entropy_grows_with_temperature_towards_the_maximum():
    z = 5 * torch.randn(10)
    entropies = [temperature_view(z, T).entropy for T in (0.5, 1, 4, 20, 1000)]
    assert entropies == sorted(entropies)
    assert entropies[-1] == pytest.approx(math.log2(10), abs=1e-3)


@pytest.mark.parametrize("T", [1.0, 4.0, 12.0])
def test_view_with_a_student_gives_the_soft_loss_and_its_gradient_scale(T):
    teacher, student = 4 * torch.randn(10), torch.randn(10)
    view = temperature_view(teacher[None], T, student)  # (1, C) is accepted too
    expected = kd_loss(student[None], teacher[None], teacher.argmax().reshape(1), temperature=T, alpha=0.0).soft
    assert view.soft_loss == pytest.approx(expected.item(), rel=1e-5)
    q, p = soft_targets(student, T), soft_targets(teacher, T)
    assert view.grad_norm == pytest.approx((T * (q - p)).norm().item(), rel=1e-4)  # d(T²·KL)/dz = T(q − p)
    assert view.grad_norm_without_t2 == pytest.approx(view.grad_norm / T**2)
    assert torch.allclose(view.student_probabilities, q)
    assert "soft loss" in view.summary() and "without T²" in view.summary()


def test_view_argument_errors():
    with pytest.raises(ValueError, match=r"'temperature' parameter of temperature_view must be a float in the range \(0, inf\)"):
        temperature_view(torch.randn(5), 0)
    with pytest.raises(ValueError, match=r"'teacher_logits' parameter of temperature_view must be a float tensor of logits for one example"):
        temperature_view(torch.randn(3, 5), 1.0)
    with pytest.raises(TypeError, match=r"'teacher_logits' parameter of temperature_view"):
        temperature_view([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match=r"'student_logits' parameter of temperature_view must be logits for the same 5 classes"):
        temperature_view(torch.randn(5), 1.0, torch.randn(4))


def test_explorer_slider_updates_the_view_and_the_readout():
    teacher, student = 4 * torch.randn(10), torch.randn(10)
    widget = temperature_explorer(teacher, student, temperature=2.0)
    slider = widget.slider
    assert (slider.min, slider.max, slider.value) == (0.5, 20.0, 2.0)
    assert widget.view.temperature == 2.0
    slider.value = 8.0  # what a learner does in the browser; observers fire synchronously
    assert widget.view.temperature == 8.0
    assert torch.allclose(widget.view.probabilities, soft_targets(teacher, 8.0))
    assert widget.readout.value == widget.view.summary() and "T = 8" in widget.readout.value
    view = widget.update(12.5)
    assert view is widget.view and view.temperature == 12.5 and view.soft_loss is not None
    slider.value = 100.0  # clamped to the slider's range
    assert widget.view.temperature == 20.0


def test_explorer_defaults_to_the_pretrained_teacher_on_a_real_digit():
    widget = temperature_explorer()
    view = widget.view
    assert view.temperature == 4.0 and view.probabilities.shape == (10,)
    assert int(view.probabilities.argmax()) == 3  # the first test 3, recognised by the teacher
    assert view.soft_loss is None


def test_explorer_rejects_a_bad_digit_and_bad_logits():
    with pytest.raises(ValueError, match=r"'digit' parameter of temperature_explorer"):
        temperature_explorer(digit=11)
    with pytest.raises(ValueError, match=r"'temperature' parameter of temperature_view"):
        temperature_explorer(torch.randn(10), temperature=-1.0)


def test_static_panels_show_one_panel_per_temperature():
    z = torch.randn(10)
    fig = plots.temperature_panels(z, [1, 4, 16], image=torch.rand(1, 8, 8), true_class=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert [ax.get_title().split()[2] for ax in fig.axes[1:]] == ["1", "4", "16"]
    with pytest.raises(ValueError, match=r"'logits' parameter of temperature_panels must be a 1-D tensor"):
        plots.temperature_panels(torch.randn(2, 10), [1])
    with pytest.raises(ValueError, match=r"'temperatures' parameter of temperature_panels"):
        plots.temperature_panels(z, [])


def test_other_lesson_01_figures_build():
    assert isinstance(plots.value_heatmap([[0.9, 0.8], [0.7, 0.95]], [1, 4], [0.0, 1.0]), Figure)
    assert isinstance(plots.gradient_scale_plot([1, 2, 4], {"a": [1.0, 0.5, 0.25]}), Figure)
    assert isinstance(plots.seed_strip({"scratch": [0.9, 0.92], "distilled": [0.95, 0.96]}), Figure)
    assert isinstance(plots.image_pairs([(torch.rand(1, 8, 8), torch.rand(1, 8, 8), "3 → 2")]), Figure)
    with pytest.raises(ValueError, match=r"'values' parameter of value_heatmap must be shaped \(2, 2\)"):
        plots.value_heatmap([[0.9, 0.8]], [1, 4], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"'pairs' parameter of image_pairs"):
        plots.image_pairs([])
