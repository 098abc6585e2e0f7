"""The Explorer base class without a browser: controls drive the view function, the view is kept."""

import ipywidgets as widgets
import pytest
from matplotlib.figure import Figure

from coursekit.widgets import Explorer


class View:
    def __init__(self, a, b):
        self.a, self.b = a, b
        self.figure = Figure(figsize=(1, 1))

    def summary(self):
        return f"a={self.a} b={self.b}"


def test_controls_drive_the_view_function_and_the_readout():
    calls = []

    def view_fn(a, b):
        calls.append((a, b))
        return View(a, b)

    box = Explorer({"a": widgets.IntSlider(value=1, max=10), "b": widgets.Checkbox(value=False)}, view_fn,
                   readout=True)
    assert calls == [(1, False)] and box.view.a == 1 and box.readout.value == "a=1 b=False"
    box.controls["a"].value = 4  # as a learner's move: observers fire synchronously
    assert box.view.a == 4 and box.readout.value == "a=4 b=False"
    assert box.update(b=True).b is True and calls[-1] == (4, True)
    assert box.update() is box.view and calls[-1] == (4, True)  # no values: recompute
    assert box.update(a=99).a == 10  # clamped to the slider's range, like a browser
    assert box.children[-1] is box.output


def test_unknown_controls_and_bad_arguments_are_explained():
    box = Explorer({"a": widgets.IntSlider()}, lambda a: View(a, None))
    assert box.readout is None
    with pytest.raises(ValueError, match=r"The controls of this explorer are \['a'\]. Got \['z'\]"):
        box.update(z=1)
    with pytest.raises(TypeError, match="'view_fn' parameter of Explorer must be a callable"):
        Explorer({"a": widgets.IntSlider()}, None)
