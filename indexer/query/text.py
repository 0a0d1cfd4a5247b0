"""The compact text form of a query (docs/guide/query-language.md), for search boxes and URLs::

    vehicle(type=sedan|suv, color=black) AND scene=intersection AND NOT person

:func:`parse_text` reads it into a JSON query tree, :func:`compile_text` also normalizes
that tree against the ontology (every error then points into the text), and
:func:`to_text` writes a tree back as text, so that the dashboard's sidebar and
query bar stay in sync.

Operators are ``NOT`` > ``AND`` > ``OR`` (any case), grouped with parentheses;
``()`` alone matches everything. A bare name followed by ``(``, an operator or
nothing is an object label; ``name=...`` is a frame attribute, or a video one
when the ontology has no such frame attribute; ``frame.x`` and ``video.x`` say
which. ``time`` (top level) and ``confidence``/``track`` (inside an object's
parentheses) are reserved names, ``AND OR NOT bbox polygon`` are keywords:
quote a label or attribute spelt like one (``"time">=3`` is a frame attribute).

Wall-clock time and counts (issue 21): ``clock``, ``hour`` and ``weekday`` are reserved at
the top level too (``hour=7..9``, ``weekday=mon..fri``, ``clock>=2026-12-01T07:00``);
``COUNT(object) >= 5`` (also ``=``, ``<=``, ``>``, ``<``, ``=2..4``) counts detections, ``COUNT``
being a keyword only before ``(``; ``object IN ZONE name`` places a detection in a camera's zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, VisitError

from indexer.ontology import VIDEO_BUILTINS, Ontology
from indexer.query.errors import QueryError, child_path, unknown
from indexer.query.tree import (
    DEFAULT_DWELL_GAP_S,
    DEFAULT_TIME_ZONE,
    HOURS,
    MAX_DEPTH,
    RECORDED_AT,
    ROOT,
    WEEKDAYS,
    ZoneSource,
    check_time_zone,
    normalize,
)

GRAMMAR = r"""
start: seq_expr?

?seq_expr: or_expr
         | seq_expr _THEN or_expr _WITHIN duration   -> sequence
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr                   -> negation
         | dwell_expr
?dwell_expr: atom
           | dwell_expr _FOR _GTE duration (_GAP duration)?   -> dwell
?atom: _LPAR seq_expr _RPAR
     | _LPAR _RPAR                         -> everything
     | object
     | event
     | comparison
     | bbox
     | polygon
     | count
     | zone

object: label conditions?
event: NAME _COLON label conditions?
conditions: _LPAR condition (_COMMA condition)* _RPAR
condition: name test
comparison: subject test
subject: name                              -> bare_subject
       | NAME _DOT name                    -> qualified_subject
test: _EQ value (_BAR value)*              -> equals
    | _EQ value _DOTDOT value              -> between
    | _GTE value                           -> at_least
    | _LTE value                           -> at_most
bbox: _BBOX _LPAR value _COMMA value _COMMA value _COMMA value _RPAR
polygon: _POLYGON _LPAR vertex (_COMMA vertex)* _RPAR
vertex: value value
count: _COUNT _LPAR object _RPAR count_test
zone: object _IN _ZONE name
?count_test: test
           | _GT value                     -> above
           | _LT value                     -> below

duration: VALUE
?label: NAME | STRING | STAR
?name: NAME | STRING
?value: VALUE | STRING

// Keywords outrank NAME; the look-ahead keeps "notable" or "or-ange" a name.
_AND.2: /and(?![\w-])/i
_OR.2: /or(?![\w-])/i
_NOT.2: /not(?![\w-])/i
_BBOX.2: /bbox(?![\w-])/i
_POLYGON.2: /polygon(?![\w-])/i
// COUNT is a keyword only before "(": count=3 stays an attribute.
_COUNT.2: /count(?=\s*\()/i
_IN.2: /in(?![\w-])/i
_ZONE.2: /zone(?![\w-])/i
_THEN.2: /then(?![\w-])/i
_WITHIN.2: /within(?![\w-])/i
_FOR.2: /for(?![\w-])/i
_GAP.2: /gap(?![\w-])/i
NAME: /[\w-]+/
// A value may hold dots and colons (dates, 2.5) but never "..", the range operator.
VALUE: /[\w:-]+(?:\.[\w:-]+)*/
STRING: /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/s
STAR: "*"
_LPAR: "("
_RPAR: ")"
_COMMA: ","
_EQ: "="
_GTE: ">="
_LTE: "<="
_GT: ">"
_LT: "<"
_DOTDOT: ".."
_BAR: "|"
_DOT: "."
_COLON: ":"
%ignore /\s+/
"""

# LALR with the contextual lexer: each parser state only lexes the terminals it can
# accept, which lets NAME and VALUE overlap and keeps "type=not" a value.
_PARSER = Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True)

Span = tuple[int, int]

_KEYWORDS = {"and", "or", "not", "bbox", "polygon", "then", "within", "for", "gap"}
_TOP_RESERVED = {"time"}
# Wall-clock time and counts (issue 21): top-level subjects of their own, and COUNT.
_CLOCK_SUBJECTS = {"clock", "hour", "weekday"}
_TOP_RESERVED |= _CLOCK_SUBJECTS
_KEYWORDS |= {"count", "in", "zone"}
_OBJECT_RESERVED = {"confidence", "track"}
_BOOLEAN_RULES = {"or_expr", "and_expr", "negation", "sequence", "dwell"}
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE]-?[0-9]+)?\Z")
_INTEGER = re.compile(r"-?[0-9]+\Z")
_BARE_NAME = re.compile(r"[\w-]+\Z")
_BARE_VALUE = re.compile(r"[\w:-]+(?:\.[\w:-]+)*\Z")
_PLAIN_INTEGER_LIMIT = 1e15
# A duration: a number, then s (the default), m or h.
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?(?:[eE]-?[0-9]+)?)([smhSMH]?)\Z")
_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
# A rough tokenizer for error messages only: what came just before the error.
_ROUGH_TOKEN = re.compile(r""""(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|>=|<=|\.\.|[\w:-]+(?:\.[\w:-]+)*|\S""", re.S)
_PHRASES = {
    "_AND": "AND",
    "_OR": "OR",
    "_NOT": "NOT",
    "_LPAR": "'('",
    "_EQ": "'='",
    "_GTE": "'>='",
    "_LTE": "'<='",
    "_GT": "'>'",
    "_LT": "'<'",
    "_IN": "IN",
    "_ZONE": "ZONE",
    "_BAR": "'|'",
    "_DOTDOT": "'..'",
    "_COMMA": "','",
    "_RPAR": "')'",
    "_DOT": "'.'",
    "_COLON": "':'",
    "_THEN": "THEN",
    "_WITHIN": "WITHIN",
    "_FOR": "FOR",
    "_GAP": "GAP",
    "$END": "the end of the query",
}


def parse_text(text: str, ontology: Ontology | None = None) -> dict:
    """The JSON query tree of a text query (not yet normalized: run ``normalize`` on it).

    With an ``ontology``, a bare ``name=...`` is a frame attribute if the ontology has
    one of that name, else a video attribute (built-ins included), else an error;
    without, it is a frame attribute unless it names a video built-in. Raises
    :class:`QueryError` with ``position``, ``line`` and ``column``.
    """
    return _parse(text, ontology)[0]


def compile_text(text: str, ontology: Ontology, *, tz: str = DEFAULT_TIME_ZONE, zones: ZoneSource = None) -> dict:
    """The normalized tree of a text query; errors, the ontology's included, point into ``text``.
    ``tz``: the request's time zone (:func:`~indexer.query.tree.normalize`)."""
    check_time_zone(tz, "tz")  # the request's, not the text's: its error has no position
    tree, spans = _parse(text, ontology)
    try:
        return normalize(tree, ontology, tz=tz, zones=zones)
    except QueryError as error:
        raise error.located(text, _span_of(error.path or ROOT, spans)) from None


def _parse(text: str, ontology: Ontology | None) -> tuple[dict, dict[str, Span]]:
    """The tree and, for each path in it (as a suffix of ``query``), the source span."""
    try:
        syntax_tree = _PARSER.parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    _check_depth(syntax_tree, text)
    try:
        piece = _TreeBuilder(text, ontology).transform(syntax_tree)
    except VisitError as error:
        raise error.orig_exc from None
    return piece.tree, piece.spans


def _span_of(path: str, spans: dict[str, Span]) -> Span:
    """The span recorded for the longest prefix of ``path``."""
    best = ""
    for suffix in spans:
        full = ROOT + suffix
        inside = path == full or (path.startswith(full) and path[len(full)] in ".[")
        if inside and len(suffix) > len(best):
            best = suffix
    return spans[best]


def _check_depth(syntax_tree: Tree, text: str) -> None:
    # Walked with a stack, not recursion: NOT NOT NOT ... may be longer than Python's stack.
    pending = [(child, 1) for child in syntax_tree.children]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            span = (node.meta.start_pos, node.meta.end_pos)
            raise QueryError(f"the query is nested more than {MAX_DEPTH} levels deep", text=text, span=span)
        if node.data in _BOOLEAN_RULES:
            pending.extend((child, depth + 1) for child in node.children)


@dataclass
class _Piece:
    """Part of the tree being built, with the source spans of the paths below it."""

    tree: Any
    spans: dict[str, Span]


@dataclass
class _Test:
    kind: str  # equals | range
    value: Any
    spans: dict[str, Span]
    tokens: list[Token]


@dataclass
class _Condition:
    name: str
    bare: bool  # written as a NAME, so it may be a reserved word
    test: _Test
    span: Span


@dataclass
class _Subject:
    kind: str  # frame | video | time
    name: str


@v_args(meta=True)
class _TreeBuilder(Transformer):
    """Builds the JSON query tree bottom-up, remembering where each part came from."""

    def __init__(self, text: str, ontology: Ontology | None):
        super().__init__()
        self._text = text
        self._ontology = ontology

    def start(self, meta, children) -> _Piece:
        return children[0] if children else _Piece({"and": []}, {"": (0, 0)})

    def or_expr(self, meta, children) -> _Piece:
        return _group("or", meta, children)

    def and_expr(self, meta, children) -> _Piece:
        return _group("and", meta, children)

    def negation(self, meta, children) -> _Piece:
        (child,) = children
        return _Piece({"not": child.tree}, {"": _span(meta), **_nest(".not", child.spans)})

    def everything(self, meta, children) -> _Piece:
        return _Piece({"and": []}, {"": _span(meta)})

    def object(self, meta, children) -> _Piece:
        label, *rest = children
        body: dict[str, Any] = {}
        spans = {"": _span(meta)}
        if label.type != "STAR":
            body["label"] = _name(label)
            spans[".object.label"] = _token_span(label)
        attrs = {}
        for (role, name), condition in self._merged(rest[0] if rest else [], _object_role).items():
            if role == "attr":
                attrs[name] = condition.test.value
                key = child_path(".object.attrs", name)
            elif role == "track":
                body[role] = self._track(condition)
                key = f".object.{role}"
            else:
                body[role] = self._range(condition.test, role, condition.span)
                key = f".object.{role}"
            spans.update({key: condition.span, **_nest(key, condition.test.spans)})
        if attrs:
            body["attrs"] = attrs
        return _Piece({"object": body}, spans)

    def event(self, meta, children) -> _Piece:
        prefix, label, *rest = children
        if prefix.lower() != "event":
            raise unknown(
                "prefix",
                f"{prefix}:",
                ["event:"],
                where=", events are written event:label",
                text=self._text,
                span=_token_span(prefix),
            )
        body: dict[str, Any] = {}
        spans = {"": _span(meta)}
        if label.type != "STAR":
            body["label"] = _name(label)
            spans[".event.label"] = _token_span(label)
        attrs = {}
        for (_, name), condition in self._merged(rest[0] if rest else [], _event_role).items():
            attrs[name] = condition.test.value
            key = child_path(".event.attrs", name)
            spans.update({key: condition.span, **_nest(key, condition.test.spans)})
        if attrs:
            body["attrs"] = attrs
        return _Piece({"event": body}, spans)

    def sequence(self, meta, children) -> _Piece:
        first, then, within = children
        spans = {"": _span(meta), **_nest(".sequence.first", first.spans), **_nest(".sequence.then", then.spans),
                 ".sequence.within_s": within.spans[""]}
        return _Piece({"sequence": {"first": first.tree, "then": then.tree, "within_s": within.tree}}, spans)

    def dwell(self, meta, children) -> _Piece:
        query, minimum, *gap = children
        body = {"query": query.tree, "min_s": minimum.tree}
        spans = {"": _span(meta), **_nest(".dwell.query", query.spans), ".dwell.min_s": minimum.spans[""]}
        if gap:
            body["gap_s"] = gap[0].tree
            spans[".dwell.gap_s"] = gap[0].spans[""]
        return _Piece({"dwell": body}, spans)

    def duration(self, meta, tokens) -> _Piece:
        (token,) = tokens
        match = _DURATION.match(str(token))
        if match is None:
            message = f"expected a duration such as 10s, 2.5s, 5m or 1h, got '{token}'"
            raise QueryError(message, text=self._text, span=_token_span(token))
        return _Piece(float(match[1]) * _DURATION_UNITS[(match[2] or "s").lower()], {"": _token_span(token)})

    def conditions(self, meta, children) -> list[_Condition]:
        return children

    def condition(self, meta, children) -> _Condition:
        name, test = children
        return _Condition(_name(name), name.type == "NAME", test, _span(meta))

    def comparison(self, meta, children) -> _Piece:
        subject, test = children
        span = _span(meta)
        if subject.kind == "time":
            return _Piece({"time": self._range(test, "time", span)}, {"": span, **_nest(".time", test.spans)})
        if subject.kind in _CLOCK_SUBJECTS:
            return self._clock_comparison(subject.kind, test, span)
        key = child_path(f".{subject.kind}", subject.name)
        return _Piece({subject.kind: {subject.name: test.value}}, {"": span, key: span, **_nest(key, test.spans)})

    def bare_subject(self, meta, children) -> _Subject:
        (token,) = children
        name = _name(token)
        if token.type == "NAME" and name.lower() in _TOP_RESERVED:
            return _Subject(name.lower() if name.lower() in _CLOCK_SUBJECTS else "time", name)
        return _Subject(self._bare_kind(name, token), name)

    def qualified_subject(self, meta, children) -> _Subject:
        prefix, token = children
        kind = prefix.lower()
        if kind not in ("frame", "video"):
            name = _name(token)
            message = f"unknown prefix '{prefix}.': write frame.{name} or video.{name}, or {prefix}({name}=...)"
            raise QueryError(f"{message} for an object attribute", text=self._text, span=_token_span(prefix))
        return _Subject(kind, _name(token))

    def equals(self, meta, tokens) -> _Test:
        if len(tokens) == 1:
            return _Test("equals", _typed(tokens[0]), {}, tokens)
        spans = {child_path("", index): _token_span(token) for index, token in enumerate(tokens)}
        return _Test("equals", [_typed(token) for token in tokens], spans, tokens)

    def between(self, meta, tokens) -> _Test:
        low, high = tokens
        spans = {".gte": _token_span(low), ".lte": _token_span(high)}
        return _Test("range", {"gte": _typed(low), "lte": _typed(high)}, spans, tokens)

    def at_least(self, meta, tokens) -> _Test:
        return _Test("range", {"gte": _typed(tokens[0])}, {".gte": _token_span(tokens[0])}, tokens)

    def at_most(self, meta, tokens) -> _Test:
        return _Test("range", {"lte": _typed(tokens[0])}, {".lte": _token_span(tokens[0])}, tokens)

    def bbox(self, meta, tokens) -> _Piece:
        spans = {"": _span(meta), ".geo.bbox": _span(meta)}
        spans.update({child_path(".geo.bbox", index): _token_span(token) for index, token in enumerate(tokens)})
        return _Piece({"geo": {"bbox": [_typed(token) for token in tokens]}}, spans)

    def polygon(self, meta, vertices) -> _Piece:
        spans = {"": _span(meta), ".geo.polygon": _span(meta)}
        for index, vertex in enumerate(vertices):
            spans.update(_nest(child_path(".geo.polygon", index), vertex.spans))
        return _Piece({"geo": {"polygon": [vertex.tree for vertex in vertices]}}, spans)

    def vertex(self, meta, tokens) -> _Piece:
        spans = {"": _span(meta), **{child_path("", i): _token_span(token) for i, token in enumerate(tokens)}}
        return _Piece([_typed(token) for token in tokens], spans)

    def _bare_kind(self, name: str, token: Token) -> str:
        ontology = self._ontology
        if ontology is None:
            return "video" if name in VIDEO_BUILTINS else "frame"
        if name in ontology.frame_attrs:
            return "frame"
        if name in ontology.video_attrs or name in VIDEO_BUILTINS:
            return "video"
        span = _token_span(token)
        if ontology.resolve_label(name) in ontology.objects:
            message = f"'{name}' is an object label, not a frame or video attribute: write {name}(attribute=value)"
            raise QueryError(message, text=self._text, span=span)
        known = [*ontology.frame_attrs, *ontology.video_attrs, *VIDEO_BUILTINS]
        raise unknown("attribute", name, known, where=" of frames or videos", text=self._text, span=span)

    def _merged(self, conditions: list[_Condition], role_of) -> dict[tuple[str, str], _Condition]:
        """Conditions by role; ``speed>=30, speed<=50`` on one name combine into a range."""
        merged: dict[tuple[str, str], _Condition] = {}
        for condition in conditions:
            role = role_of(condition)
            merged[role] = self._combined(merged[role], condition) if role in merged else condition
        return merged

    def _combined(self, first: _Condition, second: _Condition) -> _Condition:
        bounds = [first.test.value, second.test.value]
        halves = first.test.kind == second.test.kind == "range" and all(len(b) == 1 for b in bounds)
        if not halves or set(bounds[0]) == set(bounds[1]):
            message = f"'{second.name}' is given twice: use one condition, with '|' for any of several values"
            raise QueryError(message, text=self._text, span=second.span)
        value = {**bounds[0], **bounds[1]}
        test = _Test("range", value, {**first.test.spans, **second.test.spans}, first.test.tokens + second.test.tokens)
        return _Condition(first.name, first.bare, test, (first.span[0], second.span[1]))

    def _range(self, test: _Test, what: str, span: Span) -> dict:
        if test.kind != "range":
            message = f"{what} takes a range: {what}>=x, {what}<=y or {what}=x..y"
            raise QueryError(message, text=self._text, span=span)
        return test.value

    def _track(self, condition: _Condition) -> str:
        tokens = condition.test.tokens
        if condition.test.kind != "equals" or len(tokens) != 1:
            raise QueryError("track takes one id: track=7", text=self._text, span=condition.span)
        # The id as written: track=007 is the track "007", not the number 7.
        return _name(tokens[0])


    # Wall-clock time and counts (issue 21).

    def _clock_comparison(self, kind: str, test: _Test, span: Span) -> _Piece:
        """``clock=A..B`` (a range of date-times), ``hour=7..9``, ``weekday=mon|fri``."""
        if kind == "clock" and test.kind != "range":
            raise QueryError("clock takes a range: clock=A..B, clock>=A or clock<=B", text=self._text, span=span)
        return _Piece({kind: test.value}, {"": span, f".{kind}": span, **_nest(f".{kind}", test.spans)})

    def count(self, meta, children) -> _Piece:
        counted, test = children
        span = _span(meta)
        body = {"object": counted.tree["object"]}
        spans = {"": span, ".count": span, **_nest(".count", counted.spans)}
        if test.kind == "equals":
            if isinstance(test.value, list):
                raise QueryError("a count is compared with one number: COUNT(person)=2, or a range 2..4",
                                 text=self._text, span=span)
            body["eq"] = test.value
            spans[".count.eq"] = _token_span(test.tokens[0])
        else:
            body.update(test.value)
            spans.update(_nest(".count", test.spans))
        return _Piece({"count": body}, spans)

    def zone(self, meta, children) -> _Piece:
        placed, name = children
        span = _span(meta)
        spans = {"": span, ".zone": span, ".zone.name": _token_span(name), **_nest(".zone", placed.spans)}
        return _Piece({"zone": {"object": placed.tree["object"], "name": _name(name)}}, spans)

    def above(self, meta, tokens) -> _Test:
        return _Test("range", {"gt": _typed(tokens[0])}, {".gt": _token_span(tokens[0])}, tokens)

    def below(self, meta, tokens) -> _Test:
        return _Test("range", {"lt": _typed(tokens[0])}, {".lt": _token_span(tokens[0])}, tokens)


def _object_role(condition: _Condition) -> tuple[str, str]:
    reserved = condition.bare and condition.name.lower() in _OBJECT_RESERVED
    return (condition.name.lower(), "") if reserved else ("attr", condition.name)


def _event_role(condition: _Condition) -> tuple[str, str]:
    return ("attr", condition.name)


def _group(kind: str, meta, children: list[_Piece]) -> _Piece:
    spans = {"": _span(meta)}
    for index, child in enumerate(children):
        spans.update(_nest(child_path(f".{kind}", index), child.spans))
    return _Piece({kind: [child.tree for child in children]}, spans)


def _nest(prefix: str, spans: dict[str, Span]) -> dict[str, Span]:
    return {prefix + suffix: span for suffix, span in spans.items()}


def _span(meta) -> Span:
    return (meta.start_pos, meta.end_pos)


def _token_span(token: Token) -> Span:
    return (token.start_pos, token.end_pos)


def _name(token: Token) -> str:
    return _unquote(token) if token.type == "STRING" else str(token)


def _unquote(token: Token) -> str:
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match[1], match[1]), token[1:-1], flags=re.S)


def _typed(token: Token) -> Any:
    """A value token as JSON: quoted text stays a string, bare words may be numbers or booleans."""
    if token.type == "STRING":
        return _unquote(token)
    word = str(token)
    if _NUMBER.match(word):
        if _INTEGER.match(word):
            try:
                return int(word)
            except ValueError:  # more digits than Python converts; float says inf
                pass
        return float(word)
    if word.lower() in ("true", "false"):
        return word.lower() == "true"
    return word


# Syntax errors.


def _syntax_error(text: str, error: UnexpectedInput) -> QueryError:
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream
        char = text[position]
        if char in "\"'":
            return QueryError("unterminated string", text=text, span=(position, len(text)))
        if char in "<>":
            return QueryError(f"'{char}' is not an operator, use '{char}='", text=text, span=(position, position + 1))
        message = _expected(text, position, error.allowed, f"'{char}'")
        return QueryError(message, text=text, span=(position, position + 1))
    token = getattr(error, "token", None)
    expected = getattr(error, "expected", None) or ()
    if token is not None and token.type in ("_GT", "_LT"):
        # '>' and '<' compare counts only (COUNT(person) > 4).
        return QueryError(f"'{token}' is not an operator, use '{token}='", text=text, span=_token_span(token))
    if token is None or token.type == "$END":
        position = len(text.rstrip())
        return QueryError(_expected(text, position, expected, None), text=text, span=(position, position + 1))
    if token.type == "_RPAR" and _enclosure([m[0] for m in _ROUGH_TOKEN.finditer(text, 0, token.start_pos)]) is None:
        return QueryError("unbalanced ')': no '(' is open", text=text, span=_token_span(token))
    found = str(token) if len(token) <= 30 else f"{token[:30]}..."
    message = _expected(text, token.start_pos, expected, f"'{found}'")
    return QueryError(message, text=text, span=(token.start_pos, token.end_pos))


def _expected(text: str, position: int, expected: Any, found: str | None) -> str:
    """``expected a value after '=' but found ')'``."""
    tokens = [match[0] for match in _ROUGH_TOKEN.finditer(text, 0, position)]
    message = f"expected {_expected_phrase(set(expected), _enclosure(tokens))}"
    if tokens and tokens[-1].lower() == "zone" and "NAME" in set(expected):
        message = "expected a zone name"  # IN ZONE <name>
    if tokens:
        previous = tokens[-1] if len(tokens[-1]) <= 30 else f"{tokens[-1][:30]}..."
        message += f" after '{previous}'"
    return message if found is None else f"{message} but found {found}"


def _enclosure(tokens: list[str]) -> str | None:
    """What the innermost open parenthesis holds: a "list" (of conditions or coordinates,
    after a label, bbox or polygon), a "group" of queries, or None when none is open."""
    open_kinds: list[str] = []
    for index, token in enumerate(tokens):
        if token == "(":
            open_kinds.append("list" if index and _names_something(tokens[index - 1]) else "group")
        elif token == ")" and open_kinds:
            open_kinds.pop()
    return open_kinds[-1] if open_kinds else None


def _names_something(token: str) -> bool:
    """Whether a "(" after ``token`` opens a list: a label, bbox or polygon precedes it."""
    if token == "*" or token.startswith(('"', "'")):
        return True
    return bool(_BARE_NAME.match(token)) and token.lower() not in ("and", "or", "not")


def _expected_phrase(names: set[str], enclosure: str | None) -> str:
    """What the parser wanted, in words. LALR merges look-ahead sets of similar states,
    so the punctuation that can close or continue is taken from the text instead."""
    if "VALUE" in names:
        return "a value"
    if "_NOT" in names:
        return "a condition"
    if "STAR" in names:
        return "a label or '*'"
    if "NAME" in names:
        return "an attribute name"
    if "_AND" in names:
        # A whole condition has just ended: say how the next one may follow.
        names = {"_COMMA", "_RPAR"} if enclosure == "list" else {"_AND", "_OR"}
        names |= {"_RPAR"} if enclosure == "group" else set()
    elif enclosure != "list":
        names = names - {"_COMMA"} - ({"_RPAR"} if enclosure is None else set())
    phrases = [phrase for terminal, phrase in _PHRASES.items() if terminal in names]
    return _one_of(phrases) if phrases else "a valid query"


def _one_of(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} or {phrases[-1]}"


# Rendering a tree as text.

_OR_LEVEL, _AND_LEVEL, _NOT_LEVEL, _ATOM_LEVEL = range(4)
# THEN binds loosest (below OR); FOR is a postfix operator binding tighter than NOT.
_SEQUENCE_LEVEL, _DWELL_LEVEL = -1, 2.5


def to_text(tree: Any) -> str:
    """The text form of a JSON query tree or a normalized tree; ``normalize(parse_text(to_text(t)))``
    equals ``normalize(t)``. Raises :class:`QueryError` (with a path) on a tree it
    cannot write; it does not check names or values against an ontology."""
    if tree == {"and": []}:
        return ""
    return _render(tree, ROOT, _SEQUENCE_LEVEL, 1)


def _render(node: Any, path: str, level: int, depth: int) -> str:
    text, precedence = _rendered(node, path, depth)
    return f"({text})" if precedence < level else text


def _rendered(node: Any, path: str, depth: int) -> tuple[str, int]:
    """The text of a node and the precedence it binds with."""
    if depth > MAX_DEPTH:
        raise QueryError(f"the query is nested more than {MAX_DEPTH} levels deep", path=path)
    if not isinstance(node, dict) or len(node) != 1:
        raise QueryError("a query node is an object with exactly one key", path=path)
    ((kind, body),) = node.items()
    path = child_path(path, kind)
    if kind in ("and", "or"):
        return _group_text(kind, body, path, depth)
    if kind == "not":
        return f"NOT {_render(body, path, _NOT_LEVEL, depth + 1)}", _NOT_LEVEL
    if kind in _PREDICATE_TEXT:
        # hour and weekday also take a bare value or a list.
        return _PREDICATE_TEXT[kind](body if kind in ("hour", "weekday") else _mapping(body, path), path)
    if kind in _TEMPORAL_TEXT:
        return _TEMPORAL_TEXT[kind](_mapping(body, path), path, depth)
    raise unknown("query node", kind, ["and", "or", "not", *_PREDICATE_TEXT, *_TEMPORAL_TEXT], path=path)


def _group_text(kind: str, body: Any, path: str, depth: int) -> tuple[str, int]:
    if not isinstance(body, list):
        raise QueryError(f"'{kind}' takes a list of queries", path=path)
    if not body:
        # True and false have no words of their own: "()" matches everything.
        return ("()", _ATOM_LEVEL) if kind == "and" else ("NOT ()", _NOT_LEVEL)
    if len(body) == 1:
        return _rendered(body[0], child_path(path, 0), depth + 1)
    level = _AND_LEVEL if kind == "and" else _OR_LEVEL
    parts = [_render(child, child_path(path, index), level, depth + 1) for index, child in enumerate(body)]
    return f" {kind.upper()} ".join(parts), level


def _object_text(body: dict, path: str) -> tuple[str, int]:
    label = _label_text(body.get("label"), child_path(path, "label"))
    conditions = [
        _condition_text(_name_text(name, _OBJECT_RESERVED), condition, child_path(child_path(path, "attrs"), name))
        for name, condition in _mapping(body.get("attrs") or {}, child_path(path, "attrs")).items()
    ]
    if body.get("confidence") is not None:
        conditions.append(_range_text("confidence", body["confidence"], child_path(path, "confidence")))
    if body.get("track") is not None:
        conditions.append(f"track={_track_text(body['track'], child_path(path, 'track'))}")
    return label + (f"({', '.join(conditions)})" if conditions else ""), _ATOM_LEVEL


def _event_text(body: dict, path: str) -> tuple[str, int]:
    label = _label_text(body.get("label"), child_path(path, "label"))
    conditions = [
        _condition_text(_name_text(name), condition, child_path(child_path(path, "attrs"), name))
        for name, condition in _mapping(body.get("attrs") or {}, child_path(path, "attrs")).items()
    ]
    return f"event:{label}" + (f"({', '.join(conditions)})" if conditions else ""), _ATOM_LEVEL


def _frame_text(body: dict, path: str) -> tuple[str, int]:
    parts = [_condition_text(_frame_subject(str(name)), cond, child_path(path, name)) for name, cond in body.items()]
    return _conjunction(parts, path)


def _video_text(body: dict, path: str) -> tuple[str, int]:
    parts = []
    for name, condition in body.items():
        subject, name_path = f"video.{_name_text(name)}", child_path(path, name)
        if name == RECORDED_AT:
            parts.append(_recorded_at_text(subject, condition, name_path))
        else:
            parts.append(_condition_text(subject, condition, name_path))
    return _conjunction(parts, path)


def _geo_text(body: dict, path: str) -> tuple[str, int]:
    if "bbox" in body and isinstance(body["bbox"], list):
        bbox_path = child_path(path, "bbox")
        corners = [_value_text(value, child_path(bbox_path, i)) for i, value in enumerate(body["bbox"])]
        return f"bbox({', '.join(corners)})", _ATOM_LEVEL
    if "polygon" in body and isinstance(body["polygon"], list):
        polygon_path = child_path(path, "polygon")
        vertices = [_vertex_text(vertex, child_path(polygon_path, i)) for i, vertex in enumerate(body["polygon"])]
        return f"polygon({', '.join(vertices)})", _ATOM_LEVEL
    raise QueryError("geo takes a bbox or a polygon list", path=path)


def _time_text(body: dict, path: str) -> tuple[str, int]:
    return _range_text("time", body, path), _ATOM_LEVEL


_PREDICATE_TEXT = {
    "object": _object_text,
    "event": _event_text,
    "frame": _frame_text,
    "video": _video_text,
    "geo": _geo_text,
    "time": _time_text,
}


# Wall-clock time and counts (issue 21) as text. The text form names no time zone: ``hour`` and
# ``weekday`` read back in the zone of the request that parses them.


def _clock_text(body: dict, path: str) -> tuple[str, int]:
    return _range_text("clock", body, path, _instant_text), _ATOM_LEVEL


def _cyclic_text(subject: str, cycle: tuple) -> Callable[[dict, str], tuple[str, int]]:
    def text(body: dict, path: str) -> tuple[str, int]:
        if isinstance(body, dict) and "in" not in body:  # a range as the JSON tree gives it
            return _range_text(subject, body, path), _ATOM_LEVEL
        values = body.get("in") if isinstance(body, dict) else body
        values = values if isinstance(values, list) else [values]
        chosen = [value for value in cycle if value in values]
        # One run round the cycle reads as a range (hour=22..5); anything else as a list.
        starts = [value for value in chosen if cycle[cycle.index(value) - 1] not in chosen]
        if len(chosen) == len(values) and len(chosen) > 1 and len(starts) <= 1:
            first = starts[0] if starts else cycle[0]
            last = cycle[(cycle.index(first) + len(chosen) - 1) % len(cycle)]
            return f"{subject}={_value_text(first, path)}..{_value_text(last, path)}", _ATOM_LEVEL
        return _condition_text(subject, {"in": values}, path), _ATOM_LEVEL

    return text


def _count_text(body: dict, path: str) -> tuple[str, int]:
    counted, _ = _object_text(_mapping(body.get("object"), child_path(path, "object")), child_path(path, "object"))
    low = body.get("gt") + 1 if body.get("gt") is not None else body.get("gte")
    high = body.get("lt") - 1 if body.get("lt") is not None else body.get("lte")
    if body.get("eq") is not None:
        low = high = body["eq"]
    if (low or 0) == high:  # no lower bound is at least 0
        return f"COUNT({counted})={_value_text(high, path)}", _ATOM_LEVEL
    return _range_text(f"COUNT({counted})", {"gte": low, "lte": high}, path), _ATOM_LEVEL


def _zone_text(body: dict, path: str) -> tuple[str, int]:
    """``person IN ZONE crosswalk``: the zone by name (read back, it is resolved again)."""
    placed, _ = _object_text(_mapping(body.get("object"), child_path(path, "object")), child_path(path, "object"))
    return f"{placed} IN ZONE {_name_text(body.get('name'))}", _ATOM_LEVEL


_PREDICATE_TEXT.update({
    "clock": _clock_text,
    "hour": _cyclic_text("hour", HOURS),
    "weekday": _cyclic_text("weekday", WEEKDAYS),
    "count": _count_text,
    "zone": _zone_text,
})
def _sequence_text(body: dict, path: str, depth: int) -> tuple[str, float]:
    for key in ("first", "then", "within_s"):
        if key not in body:
            raise QueryError(f"a sequence needs '{key}'", path=child_path(path, key))
    first = _render(body["first"], child_path(path, "first"), _SEQUENCE_LEVEL, depth + 1)
    then = _render(body["then"], child_path(path, "then"), _OR_LEVEL, depth + 1)
    within = _seconds_text(body["within_s"], child_path(path, "within_s"))
    return f"{first} THEN {then} WITHIN {within}", _SEQUENCE_LEVEL


def _dwell_text(body: dict, path: str, depth: int) -> tuple[str, float]:
    for key in ("query", "min_s"):
        if key not in body:
            raise QueryError(f"a dwell needs '{key}'", path=child_path(path, key))
    query = _render(body["query"], child_path(path, "query"), _DWELL_LEVEL, depth + 1)
    text = f"{query} FOR >= {_seconds_text(body['min_s'], child_path(path, 'min_s'))}"
    if body.get("gap_s") is not None and body["gap_s"] != DEFAULT_DWELL_GAP_S:
        text += f" GAP {_seconds_text(body['gap_s'], child_path(path, 'gap_s'))}"
    return text, _DWELL_LEVEL


def _seconds_text(value: Any, path: str) -> str:
    """Seconds as a duration word (``10s``, ``2.5s``); a value no duration can spell is an error."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise QueryError("a duration is a number of seconds, 0 or more", path=path)
    return _value_text(float(value), path) + "s"


_TEMPORAL_TEXT = {
    "sequence": _sequence_text,
    "dwell": _dwell_text,
}


def _mapping(body: Any, path: str) -> dict:
    if not isinstance(body, dict):
        raise QueryError("expected an object", path=path)
    return body


def _conjunction(parts: list[str], path: str) -> tuple[str, int]:
    if not parts:
        raise QueryError("expected one or more attributes", path=path)
    return " AND ".join(parts), _ATOM_LEVEL if len(parts) == 1 else _AND_LEVEL


def _frame_subject(name: str) -> str:
    # Bare names resolve to frame attributes first, except the reserved ones and the
    # video built-ins (which resolve to the video without an ontology).
    if _BARE_NAME.match(name) and name.lower() not in _KEYWORDS | _TOP_RESERVED and name not in VIDEO_BUILTINS:
        return name
    return f"frame.{_name_text(name)}"


def _label_text(label: Any, path: str) -> str:
    if label is None:
        return "*"
    if not isinstance(label, str):
        raise QueryError("a label is a string", path=path)
    return _name_text(label)


def _name_text(name: Any, reserved: set[str] = frozenset()) -> str:
    name = str(name)
    if _BARE_NAME.match(name) and name.lower() not in _KEYWORDS | reserved:
        return name
    return _quoted(name)


def _condition_text(subject: str, condition: Any, path: str) -> str:
    if isinstance(condition, dict) and "in" not in condition:
        return _range_text(subject, condition, path)
    values = condition["in"] if isinstance(condition, dict) else condition
    values = values if isinstance(values, list) else [values]
    if not values:
        raise QueryError("a condition needs at least one value", path=path)
    return f"{subject}={'|'.join(_value_text(value, child_path(path, i)) for i, value in enumerate(values))}"


def _range_text(subject: str, bounds: Any, path: str, value_text: Callable[[Any, str], str] | None = None) -> str:
    value_text = value_text or _value_text
    if not isinstance(bounds, dict):
        raise QueryError("expected a range {gte, lte}", path=path)
    low, high = bounds.get("gte"), bounds.get("lte")
    if low is not None and high is not None:
        return f"{subject}={value_text(low, child_path(path, 'gte'))}..{value_text(high, child_path(path, 'lte'))}"
    if low is not None:
        return f"{subject}>={value_text(low, child_path(path, 'gte'))}"
    if high is not None:
        return f"{subject}<={value_text(high, child_path(path, 'lte'))}"
    raise QueryError("a range needs gte, lte or both", path=path)


def _recorded_at_text(subject: str, condition: Any, path: str) -> str:
    if isinstance(condition, dict) and "in" not in condition:
        low, high = condition.get("gte"), condition.get("lte")
        if low is not None and low == high:
            return f"{subject}={_instant_text(low, child_path(path, 'gte'))}"
        return _range_text(subject, condition, path, _instant_text)
    return _condition_text(subject, condition, path)


def _instant_text(value: Any, path: str) -> str:
    """An epoch number as an ISO date-time when that reads back as the very same number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            moment = None
        if moment is not None and moment.timestamp() == value:
            return moment.isoformat().replace("+00:00", "Z")
    return _value_text(value, path)


def _vertex_text(vertex: Any, path: str) -> str:
    if not isinstance(vertex, list) or len(vertex) != 2:
        raise QueryError("a polygon vertex is [lon, lat]", path=path)
    return " ".join(_value_text(value, child_path(path, i)) for i, value in enumerate(vertex))


def _track_text(track: Any, path: str) -> str:
    # track=... takes the id exactly as written, so a numeric-looking id needs no quotes.
    text = _value_text(track, path) if not isinstance(track, str) else track
    return text if _BARE_VALUE.match(text) else _quoted(text)


def _value_text(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than Python will print
            raise QueryError("the number is too large", path=path) from None
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _PLAIN_INTEGER_LIMIT:
            return str(int(value))  # "30", not "30.0": reads back as the same float
        # repr round-trips exactly; "1e+20" loses its "+", which a bare word cannot hold.
        return repr(value).replace("+", "")
    if isinstance(value, str):
        plain = _BARE_VALUE.match(value) and not _NUMBER.match(value) and value.lower() not in ("true", "false")
        return value if plain else _quoted(value)
    raise QueryError("expected a string, a number or a boolean", path=path)


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + escaped.replace("\r", "\\r") + '"'
