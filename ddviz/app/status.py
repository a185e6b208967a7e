"""The status widgets the app's tabs share: a busy spinner with its message, and an error alert."""

from __future__ import annotations

import panel as pn


def error_alert(error, css_class: str | None = None) -> pn.pane.Alert:
    """A red alert showing a string parameter, visible while it is not empty.

    Parameters
    ----------
    error : param.String
        The parameter (``state.param.error``), bound: the alert follows it.
    css_class : str, optional
        A CSS class for tests and styling.

    Returns
    -------
    panel.pane.Alert
    """
    return pn.pane.Alert(error, alert_type="danger", visible=error.rx.bool(),
                         sizing_mode="stretch_width",
                         stylesheets=[":host { overflow-wrap: anywhere; }"],
                         css_classes=[css_class] if css_class else [])


def busy_message(busy, message, css_prefix: str, width: int) -> pn.Row:
    """A spinner turning while ``busy`` beside the Markdown ``message``.

    Parameters
    ----------
    busy : param.Boolean
        Bound parameter: the spinner turns while it is true.
    message : param.String
        Bound parameter: the text beside it.
    css_prefix : str
        CSS classes ``PREFIX-busy`` (spinner) and ``PREFIX-message`` (text).
    width : int
        The row's width in pixels.

    Returns
    -------
    panel.Row
    """
    return pn.Row(pn.indicators.LoadingSpinner(value=busy, width=30, height=30,
                                               css_classes=[f"{css_prefix}-busy"]),
                  pn.pane.Markdown(message, css_classes=[f"{css_prefix}-message"],
                                   width=width - 60))
