"""Plotly figures of the statistics, built server-side with ``plotly.graph_objects``
and sent as plotly JSON (``fig.to_plotly_json()``) for the dashboard's local plotly.js.

Bars and heatmap cells carry the facet value in ``customdata`` (bars) or as the
axis category (its display name), so a click can become a sidebar filter.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from indexer.display import facet_catalog
from indexer.ontology import Ontology

BAR_COLOR = "#3b7dd8"
# What one unit of a co-occurrence scope is, as the hover text says it.
SCOPE_UNITS = {"object": "objects", "frame": "matching frames", "clip": "clips"}
TIME_COLOR = "#6a51a3"


def occurrence_figures(*, ontology: Ontology, answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One bar chart per facet of an occurrence answer (like MAKE / TYPE / COLOR charts)."""
    catalog = facet_catalog(ontology=ontology)
    unit = answer["unit"]
    figures = {}
    for key, counts in answer["counts"].items():
        values = catalog[key]["values"]
        figure = go.Figure(
            go.Bar(
                x=[value["text"] for value in values],
                y=[counts.get(value["value"], 0) for value in values],
                customdata=[value["value"] for value in values],
                marker={"color": BAR_COLOR},
                hovertemplate="%{x}: %{y}<extra>click to filter</extra>",
            ),
            layout=go.Layout(
                template="none",
                title={"text": catalog[key]["title"]},
                xaxis={"type": "category", "automargin": True, "title": {"text": catalog[key]["title"]}},
                yaxis={"title": {"text": unit}, "rangemode": "tozero"},
            ),
        )
        figures[key] = figure.to_plotly_json()
    return figures


def cooccurrence_figure(*, ontology: Ontology, answer: dict[str, Any]) -> dict[str, Any]:
    """A heatmap of a co-occurrence matrix; hovering shows the lift."""
    catalog = facet_catalog(ontology=ontology)
    a, b = catalog[answer["a"]], catalog[answer["b"]]
    rows, cols = _texts(a, answer["rows"]), _texts(b, answer["cols"])
    lift_text = [["n/a" if lift is None else f"{lift:.2f}" for lift in row] for row in answer["lift"]]
    figure = go.Figure(
        go.Heatmap(
            x=cols,
            y=rows,
            z=answer["matrix"],
            customdata=lift_text,
            colorscale="Blues",
            texttemplate="%{z}",
            hovertemplate=f"%{{y}} with %{{x}}<br>count %{{z}} {SCOPE_UNITS[answer['scope']]}"
                          "<br>lift %{customdata}<extra></extra>",
        ),
        layout=go.Layout(
            template="none",
            title={"text": f"{a['title']} x {b['title']}, same {answer['scope']}"},
            xaxis={"type": "category", "automargin": True, "title": {"text": b["title"]}},
            yaxis={"type": "category", "automargin": True, "title": {"text": a["title"]}},
        ),
    )
    return figure.to_plotly_json()


def _texts(facet: dict[str, Any], values: list[str]) -> list[str]:
    names = {value["value"]: value["text"] for value in facet["values"]}
    return [names.get(value, value) for value in values]


def timeline_figures(*, answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Bar charts of the matching frames over video time and over wall-clock time (its
    focus when distant frames would squash the rest; see analytics.stats)."""
    video = answer["video_time"]
    wall = answer["wall_clock"]["focus"] or answer["wall_clock"]
    return {
        "video_time": go.Figure(
            go.Bar(x=[b["start_s"] for b in video["bins"]], y=[b["count"] for b in video["bins"]],
                   marker={"color": BAR_COLOR}, hovertemplate="%{x}s: %{y}<extra></extra>"),
            layout=go.Layout(template="none", bargap=0.05, title={"text": "Matching frames over video time"},
                             xaxis={"title": {"text": "seconds from the start"}},
                             yaxis={"title": {"text": "frames"}, "rangemode": "tozero"}),
        ).to_plotly_json(),
        "wall_clock": go.Figure(
            go.Bar(x=[b["start"] for b in wall["bins"]], y=[b["count"] for b in wall["bins"]],
                   marker={"color": TIME_COLOR}, hovertemplate="%{x}: %{y}<extra></extra>"),
            layout=go.Layout(template="none", bargap=0.05, title={"text": "Matching frames over recorded time"},
                             xaxis={"type": "date", "title": {"text": "recorded time (UTC)"}},
                             yaxis={"title": {"text": "frames"}, "rangemode": "tozero"}),
        ).to_plotly_json(),
    }
