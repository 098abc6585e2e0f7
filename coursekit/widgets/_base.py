"""What every explorer shares: controls, a readout, and an Output that shows the view's figure as a PNG.

An explorer is a plain *view function* (control values -> a view object with a ``figure``, and
optionally ``summary()``) wired to ipywidgets controls. The view function carries all the logic and
is unit-tested without a browser; :class:`Explorer` only calls it when a control changes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping

import ipywidgets as widgets

from coursekit._validate import check_callable, check_type

__all__ = ["Explorer", "png"]


def png(figure):
    """A matplotlib figure as a PNG image for display (needs no matplotlib backend in the kernel)."""
    from IPython.display import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return Image(data=buffer.getvalue(), format="png")


class Explorer(widgets.VBox):
    """Controls on top, an optional HTML readout, and an Output showing ``view(**values).figure``.

    - ``controls``: ``{name: widget}``; ``view_fn(**{name: widget.value})`` returns the view shown.
    - ``rows``: the widgets laid out above the readout (default: the controls, one per line).
    - ``readout=True`` adds an HTML line showing ``view.summary()``.

    Attributes: ``controls``, ``readout`` (or None), ``output``, ``view`` (the latest view).
    ``update(**values)`` sets controls without a browser (observers fire synchronously) and returns
    the latest view; ``update()`` with no values recomputes the view.
    """

    def __init__(self, controls: Mapping[str, widgets.Widget], view_fn: Callable, *, rows=None,
                 readout: bool = False):
        check_type("controls", controls, "Explorer", Mapping, "a dict {name: widget}")
        check_callable("view_fn", view_fn, "Explorer")
        self.controls = dict(controls)
        self.view_fn = view_fn
        self.readout = widgets.HTML() if readout else None
        self.output = widgets.Output()
        self.view = None
        top = list(rows) if rows is not None else list(self.controls.values())
        super().__init__([*top, *([self.readout] if readout else []), self.output])
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.refresh()

    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def refresh(self):
        """Recompute the view from the controls' values and show it; returns the view."""
        self.show(self.view_fn(**self.values()))
        return self.view

    def show(self, view) -> None:
        self.view = view
        if self.readout is not None and hasattr(view, "summary"):
            self.readout.value = view.summary()
        with self.output:
            from IPython.display import clear_output, display

            clear_output(wait=True)
            display(png(view.figure))

    def update(self, **values):
        """Set controls by name (each change redraws, as a learner's move would); returns the view."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"The controls of this explorer are {sorted(self.controls)}. Got {sorted(unknown)}.")
        if not values:
            return self.refresh()
        for name, value in values.items():
            self.controls[name].value = value  # fires _changed when the (clamped) value changes
        return self.view

    def _changed(self, change) -> None:
        self.refresh()
