"""The ontology (label schema): what may be said about videos.

Admins upload one of three documents, all read into :class:`Ontology`:

- ETA VideoLabelsSchema, current layout: ``{attrs: {schema}, frames: {schema},
  objects: {schema: {label: {label, attrs: {schema}, frames: {schema}}}},
  events: {schema: {label: {...}}}}``;
- ETA's 2019 layout, which current ETA silently reads as empty: the whole
  document may be wrapped in ``{"schema": ...}`` and objects are
  ``{label: {schema: {attr: AttrSchema}}}``;
- Scoop's own document: the current ETA layout plus a ``display`` section
  (sidebar groups, display names, colors, synonyms).

What is stored is always Scoop's own document (:meth:`Ontology.to_document`),
so a stored schema reads back the same whatever was uploaded.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any

CATEGORICAL = "categorical"
NUMERIC = "numeric"
BOOLEAN = "boolean"

ETA_TYPES = {
    "eta.core.data.CategoricalAttribute": CATEGORICAL,
    "eta.core.data.NumericAttribute": NUMERIC,
    "eta.core.data.BooleanAttribute": BOOLEAN,
}
KIND_TO_ETA = {kind: eta for eta, kind in ETA_TYPES.items()}

# Built-in video fields every ontology has, queryable as {"video": {...}}.
VIDEO_BUILTINS = ("name", "camera", "recorded_at")
# Built-in object attribute: human review's state of the detection's track or detection
# (docs/api/review.md). Payloads and schemas may not define it: the index takes its values from
# the reviews (indexer.overlays), and searches see it on every object label (:func:`with_review`).
REVIEW = "review"
REVIEW_STATES = ("unreviewed", "confirmed", "rejected", "corrected", "disputed")


class SchemaError(ValueError):
    """A schema document that cannot be read; ``problems`` lists (path, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


@dataclass
class AttrSpec:
    name: str
    kind: str
    values: list[Any] | None = None  # categorical: allowed values; boolean: allowed values
    range: tuple[float, float] | None = None  # numeric: inclusive bounds, None = any number

    def check(self, value: Any) -> str | None:
        """Why ``value`` does not conform, or None when it does."""
        if self.kind == BOOLEAN:
            if not isinstance(value, bool):
                return f"attribute '{self.name}' expects a boolean, got {_describe(value)}"
            if self.values is not None and value not in self.values:
                return f"value {str(value).lower()} is not allowed for attribute '{self.name}'"
            return None
        if self.kind == NUMERIC:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"attribute '{self.name}' expects a number, got {_describe(value)}"
            if not math.isfinite(value):
                return f"attribute '{self.name}' expects a finite number, got {value}"
            if self.range is not None and not (self.range[0] <= value <= self.range[1]):
                low, high = self.range
                return f"value {value} of attribute '{self.name}' is outside the range [{low}, {high}]"
            return None
        if not isinstance(value, str):
            return f"attribute '{self.name}' expects a category (string), got {_describe(value)}"
        if self.values is not None and value not in self.values:
            hint = suggestion(value, self.values)
            return f"unknown value '{value}' for attribute '{self.name}'{hint}"
        return None

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "type": KIND_TO_ETA[self.kind]}
        if self.kind == CATEGORICAL:
            doc["categories"] = list(self.values or [])
        elif self.kind == BOOLEAN and self.values is not None:
            doc["values"] = list(self.values)
        elif self.kind == NUMERIC and self.range is not None:
            doc["range"] = list(self.range)
        return doc


@dataclass
class LabelSpec:
    """An object or event label and its attributes. For objects, ``constant``
    names the attributes that describe the whole track (ETA's ``attrs``), the
    others are per-frame (ETA's ``frames``)."""

    label: str
    attrs: dict[str, AttrSpec] = field(default_factory=dict)
    constant: set[str] = field(default_factory=set)


@dataclass
class Display:
    groups: list[dict[str, Any]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)


@dataclass
class Ontology:
    video_attrs: dict[str, AttrSpec] = field(default_factory=dict)
    frame_attrs: dict[str, AttrSpec] = field(default_factory=dict)
    objects: dict[str, LabelSpec] = field(default_factory=dict)
    events: dict[str, LabelSpec] = field(default_factory=dict)
    display: Display = field(default_factory=Display)

    def resolve_label(self, name: str) -> str:
        """The object label a name or synonym stands for (unchanged if none)."""
        return name if name in self.objects else self.display.synonyms.get(name, name)

    def to_document(self) -> dict[str, Any]:
        def attrs_doc(attrs: dict[str, AttrSpec]) -> dict[str, Any]:
            return {"schema": {name: spec.to_document() for name, spec in attrs.items()}}

        def label_doc(spec: LabelSpec, split_constant: bool) -> dict[str, Any]:
            if not split_constant:
                return {"label": spec.label, "attrs": attrs_doc(spec.attrs)}
            constant = {n: a for n, a in spec.attrs.items() if n in spec.constant}
            per_frame = {n: a for n, a in spec.attrs.items() if n not in spec.constant}
            return {"label": spec.label, "attrs": attrs_doc(constant), "frames": attrs_doc(per_frame)}

        return {
            "attrs": attrs_doc(self.video_attrs),
            "frames": attrs_doc(self.frame_attrs),
            "objects": {"schema": {n: label_doc(s, True) for n, s in self.objects.items()}},
            "events": {"schema": {n: label_doc(s, False) for n, s in self.events.items()}},
            "display": {
                "groups": self.display.groups,
                "names": self.display.names,
                "colors": self.display.colors,
                "synonyms": self.display.synonyms,
            },
        }


def suggestion(name: str, known: Any) -> str:
    """' (did you mean 'x' or 'y'?)' for the closest known names, or ''."""
    candidates = [str(k) for k in known]
    close = difflib.get_close_matches(str(name), candidates, n=3, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        close = [lowered[str(name).lower()]] if str(name).lower() in lowered else []
    if not close:
        return ""
    return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return f"string '{value[:80]}'"
    return type(value).__name__


def parse_schema_document(document: Any) -> Ontology:
    """Read an uploaded schema document in any accepted layout.

    Raises :class:`SchemaError` listing every problem with its JSON path.
    """
    problems: list[tuple[str, str]] = []
    if not isinstance(document, dict):
        raise SchemaError([("$", "the schema must be a JSON object")])
    root, root_path = document, "$"
    if set(document) <= {"schema", "name", "description"} and isinstance(document.get("schema"), dict):
        root, root_path = document["schema"], "$.schema"
    sections = ["attrs", "frames", "objects", "events", "display"]
    for key in root:
        if key not in (*sections, "name", "description", "_CLS"):
            problems.append((f"{root_path}.{key}", f"unknown section '{key}'{suggestion(key, sections)}"))

    _check_nul(root, root_path, problems)
    ontology = Ontology(
        video_attrs=_read_attr_container(root.get("attrs"), f"{root_path}.attrs", problems),
        frame_attrs=_read_attr_container(root.get("frames"), f"{root_path}.frames", problems),
        objects=_read_labels(root.get("objects"), f"{root_path}.objects", problems, objects=True),
        events=_read_labels(root.get("events"), f"{root_path}.events", problems, objects=False),
        display=_read_display(root.get("display"), f"{root_path}.display", problems),
    )
    _check_display(ontology, f"{root_path}.display", problems)
    _check_reserved(ontology, f"{root_path}.objects", problems)
    if problems:
        raise SchemaError(problems)
    return ontology


# Labels, attribute names and categories are short words shown in the sidebar, in
# messages and in facet keys; control and bidirectional-override characters would let
# a name hide or disguise itself there.
MAX_NAME_LENGTH = 200
_HIDDEN_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a label, attribute name or category, or None."""
    if len(name) > MAX_NAME_LENGTH:
        return f"a name has at most {MAX_NAME_LENGTH} characters; this one has {len(name)}"
    hidden = _HIDDEN_CHARACTERS.search(name)
    if hidden:
        return f"a name must not hold control or direction-changing characters; found {ascii(hidden.group())}"
    return None


def _check_nul(node: Any, path: str, problems: list) -> None:
    """NUL anywhere (PostgreSQL's JSON cannot store it), with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if "\x00" in key:
                problems.append((path, "a key holds a NUL character"))
            _check_nul(value, f"{path}.{key}", problems)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _check_nul(item, f"{path}[{index}]", problems)
    elif isinstance(node, str) and "\x00" in node:
        problems.append((path, "the text holds a NUL character"))


def _schema_body(container: Any, path: str, problems: list) -> tuple[dict, str]:
    """The ``{name: ...}`` mapping inside an ETA ``{"schema": {...}}`` container."""
    if container is None:
        return {}, path
    if not isinstance(container, dict):
        problems.append((path, "expected an object"))
        return {}, path
    if "schema" in container:
        body = container["schema"]
        if not isinstance(body, dict):
            problems.append((f"{path}.schema", "expected an object"))
            return {}, path
        return body, f"{path}.schema"
    return {k: v for k, v in container.items() if k != "_CLS"}, path


def _read_attr_container(container: Any, path: str, problems: list) -> dict[str, AttrSpec]:
    body, body_path = _schema_body(container, path, problems)
    attrs: dict[str, AttrSpec] = {}
    for key, raw in body.items():
        spec = _read_attr(raw, key, f"{body_path}.{key}", problems)
        if spec is not None:
            attrs[spec.name] = spec
    return attrs


def _read_attr(raw: Any, key: str, path: str, problems: list) -> AttrSpec | None:
    if not isinstance(raw, dict):
        problems.append((path, "an attribute schema must be an object"))
        return None
    name = raw.get("name", key)
    if not isinstance(name, str) or not name:
        problems.append((f"{path}.name", "the attribute name must be a non-empty string"))
        return None
    if _name_problem(name):
        problems.append((f"{path}.name", _name_problem(name)))
        return None
    if name != key:
        problems.append((f"{path}.name", f"name '{name}' differs from its key '{key}'"))
    kind = ETA_TYPES.get(raw.get("type")) or raw.get("type")
    if kind not in (CATEGORICAL, NUMERIC, BOOLEAN):
        known = ", ".join(ETA_TYPES)
        problems.append((f"{path}.type", f"unknown attribute type {raw.get('type')!r}; expected one of {known}"))
        return None
    if kind == CATEGORICAL:
        categories = raw.get("categories", [])
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            problems.append((f"{path}.categories", "categories must be a list of strings"))
            return None
        if len(set(categories)) != len(categories):
            problems.append((f"{path}.categories", "categories must not repeat"))
        for index, category in enumerate(categories):
            if _name_problem(category):
                problems.append((f"{path}.categories[{index}]", _name_problem(category)))
        return AttrSpec(name=name, kind=kind, values=list(categories))
    if kind == BOOLEAN:
        values = raw.get("values")
        if values is not None and (not isinstance(values, list) or not all(isinstance(v, bool) for v in values)):
            problems.append((f"{path}.values", "values must be a list of booleans"))
            return None
        return AttrSpec(name=name, kind=kind, values=None if not values else list(values))
    bounds = raw.get("range")
    if bounds is None:
        return AttrSpec(name=name, kind=kind)
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or not all(isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)
        or bounds[0] > bounds[1]
    ):
        problems.append((f"{path}.range", "range must be [min, max] with finite numbers and min <= max"))
        return None
    return AttrSpec(name=name, kind=kind, range=(float(bounds[0]), float(bounds[1])))


def _read_labels(container: Any, path: str, problems: list, *, objects: bool) -> dict[str, LabelSpec]:
    body, body_path = _schema_body(container, path, problems)
    labels: dict[str, LabelSpec] = {}
    for key, raw in body.items():
        item_path = f"{body_path}.{key}"
        if not isinstance(raw, dict):
            problems.append((item_path, "a label schema must be an object"))
            continue
        label = raw.get("label", key)
        if not isinstance(label, str) or not label:
            problems.append((f"{item_path}.label", "the label must be a non-empty string"))
            continue
        if _name_problem(label):
            problems.append((f"{item_path}.label", _name_problem(label)))
            continue
        spec = LabelSpec(label=label)
        if "schema" in raw and "attrs" not in raw:
            # 2019 layout: {label: {schema: {attr: AttrSchema}}}; all object-level.
            spec.attrs = _read_attr_container({"schema": raw["schema"]}, item_path, problems)
            spec.constant = set(spec.attrs) if objects else set()
        else:
            constant = _read_attr_container(raw.get("attrs"), f"{item_path}.attrs", problems)
            per_frame = _read_attr_container(raw.get("frames"), f"{item_path}.frames", problems)
            for name in set(constant) & set(per_frame):
                problems.append((f"{item_path}.frames.schema.{name}", f"attribute '{name}' is defined twice"))
            spec.attrs = {**constant, **per_frame}
            spec.constant = set(constant) if objects else set()
        labels[label] = spec
    return labels


def _read_display(raw: Any, path: str, problems: list) -> Display:
    if raw is None:
        return Display()
    if not isinstance(raw, dict):
        problems.append((path, "display must be an object"))
        return Display()
    display = Display()
    groups = raw.get("groups", [])
    if not isinstance(groups, list):
        problems.append((f"{path}.groups", "groups must be a list"))
    else:
        for i, group in enumerate(groups):
            gpath = f"{path}.groups[{i}]"
            if (
                not isinstance(group, dict)
                or not isinstance(group.get("name"), str)
                or not isinstance(group.get("items", []), list)
            ):
                problems.append((gpath, "a group is {\"name\": str, \"items\": [facet keys or labels]}"))
                continue
            display.groups.append({"name": group["name"], "items": list(group.get("items", []))})
    for key in ("names", "colors", "synonyms"):
        mapping = raw.get(key, {})
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            problems.append((f"{path}.{key}", f"{key} must map strings to strings"))
            continue
        setattr(display, key, dict(mapping))
    return display


def _check_reserved(ontology: Ontology, path: str, problems: list) -> None:
    """An object attribute named :data:`REVIEW` would clash with the built-in one."""
    for label, spec in ontology.objects.items():
        if REVIEW in spec.attrs:
            part = "attrs" if REVIEW in spec.constant else "frames"
            problems.append((f"{path}.schema.{label}.{part}.schema.{REVIEW}",
                             f"'{REVIEW}' is a built-in attribute of every object label (human review's state: "
                             f"{', '.join(REVIEW_STATES)}); name this attribute otherwise"))


def with_review(ontology: Ontology) -> Ontology:
    """The ontology searches use: every object label also has the built-in categorical attribute
    :data:`REVIEW`, valued by :data:`REVIEW_STATES`. Validation and corrections use the stored
    ontology, without it: no payload or vote sets it."""
    review = AttrSpec(name=REVIEW, kind=CATEGORICAL, values=list(REVIEW_STATES))
    objects = {label: LabelSpec(label=spec.label, attrs={**spec.attrs, REVIEW: review}, constant=set(spec.constant))
               for label, spec in ontology.objects.items()}
    return Ontology(video_attrs=ontology.video_attrs, frame_attrs=ontology.frame_attrs, objects=objects,
                    events=ontology.events, display=ontology.display)


def _check_display(ontology: Ontology, path: str, problems: list) -> None:
    for synonym, label in ontology.display.synonyms.items():
        if label not in ontology.objects and label not in ontology.events:
            problems.append(
                (f"{path}.synonyms.{synonym}", f"synonym points at unknown label '{label}'"
                 f"{suggestion(label, list(ontology.objects) + list(ontology.events))}")
            )
