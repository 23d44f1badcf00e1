"""Small constructors for the SQLGlot tree, and the few leaves that differ by dialect.

Every other piece of SQL is dialect-neutral and rendered by SQLGlot at the end.

>>> double(0.1).sql("spark")
"CAST('0.1' AS DOUBLE)"
>>> epoch_micros(col("t"), "spark").sql("spark")
'UNIX_MICROS(TRY_CAST(t AS TIMESTAMP))'
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from sqlglot import exp

Dialect = Literal["duckdb", "spark"]
# any node of the tree (SQLGlot 30 calls the base class Expr)
Node: TypeAlias = "exp.Expr"
DIALECTS: tuple[Dialect, ...] = ("duckdb", "spark")


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=not name.isidentifier() or None)


def text(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def integer(value: int) -> Node:
    literal = exp.Literal.number(abs(value))
    return exp.Neg(this=literal) if value < 0 else literal


def double(value: float) -> Node:
    """A DOUBLE literal. Written as text and cast, because both engines read a plain
    `0.1` as DECIMAL, and decimal arithmetic would round differently from Python."""
    return exp.cast(text(repr(float(value))), "double")


def _operand(node: Node) -> Node:
    return exp.paren(node, copy=False) if isinstance(node, exp.Binary) else node


def arith(kind: type[exp.Binary], left: Node, right: Node) -> Node:
    """`left <kind> right`; operands that are themselves operators are parenthesized, as
    SQLGlot renders a tree as built and does not add them by precedence."""
    return kind(this=_operand(left), expression=_operand(right))


def try_cast(value: Node, to: str) -> Node:
    """`value` as type `to`, NULL when it does not read as one (never an error)."""
    return exp.TryCast(this=value, to=exp.DataType.build(to), safe=True)


def fn(name: str, *args: Node) -> Node:
    """The function `name` as DuckDB spells it; SQLGlot renames it for other dialects."""
    return exp.func(name, *args, dialect="duckdb", copy=False)


def alias(expression: Node, name: str) -> Node:
    return exp.alias_(expression, name, quoted=not name.isidentifier() or None, copy=False)


def case(*whens: tuple[Node, Node],
         default: Node | None = None) -> exp.Case:
    node = exp.Case()
    for condition, value in whens:
        node = node.when(condition, value, copy=False)
    return node.else_(default, copy=False) if default is not None else node


# -- the leaves that differ by dialect -----------------------------------------------------

def epoch_micros(timestamp_text: Node, dialect: Dialect) -> Node:
    """Microseconds since 1970 UTC of ISO 8601 text (no offset means UTC; both engines run
    with the UTC session time zone); NULL when the text is not a time."""
    if dialect == "spark":
        parsed = try_cast(timestamp_text, "timestamp")
        return exp.Anonymous(this="UNIX_MICROS", expressions=[parsed])
    parsed = try_cast(timestamp_text, "timestamptz")
    return exp.Anonymous(this="EPOCH_US", expressions=[parsed])


def json_object_or_blank(properties: Node, dialect: Dialect, parsed: Node | None = None
                         ) -> Node:
    """True when `properties` is blank or a JSON object (what `mql.ingest` accepts).
    `parsed` is the `json_struct` of `properties` when the query computes one: Spark then
    reads its verdict instead of parsing the text a second time."""
    blank = exp.or_(properties.is_(exp.null()),
                    exp.EQ(this=exp.Trim(this=properties), expression=text("")))
    starts = exp.EQ(this=fn("left", exp.Trim(this=properties), exp.Literal.number(1)),
                    expression=text("{"))
    if dialect == "spark" and parsed is not None:
        # the text starts with "{" here, so it is an object or not JSON at all
        valid: Node = exp.and_(parsed.is_(exp.null()).not_(),
                               _field(parsed, BAD_JSON).is_(exp.null()))
    elif dialect == "spark":
        # NULL unless a JSON object; it only reads the keys of the outer object (no value
        # is copied out, as GET_JSON_OBJECT(p, '$') copied the whole text)
        keys = exp.Anonymous(this="JSON_OBJECT_KEYS", expressions=[properties])
        valid = keys.is_(exp.null()).not_()
    else:
        valid = exp.Anonymous(this="JSON_VALID", expressions=[properties])
    # nearly every row starts with "{": test it without trimming (a copy of the text)
    return case((fn("starts_with", properties, text("{")), valid),
                default=exp.or_(blank, exp.and_(starts, valid)))


# the field of `json_struct` that Spark fills with the text of a row that is not JSON
BAD_JSON = "mql_not_json"


def json_struct(properties: Node, keys: list[str], dialect: Dialect) -> Node | None:
    """Spark: `properties` parsed once into a struct with one text field per key (a number,
    object or list kept as its JSON text, as GET_JSON_OBJECT gives it; a repeated key
    gives its last value, as Python's json does) and `BAD_JSON`, so one parse both checks
    the text and extracts every key. None for DuckDB (`json_texts` extracts there), for
    no keys, and for keys that differ only in case (a field reference would be ambiguous
    in Spark; those models take one GET_JSON_OBJECT per key)."""
    names = [*keys, BAD_JSON]
    if dialect != "spark" or not keys or len({k.lower() for k in names}) != len(names):
        return None
    schema = "STRUCT<" + ", ".join(f"{_ddl_name(k)}: STRING" for k in names) + ">"
    options = exp.Anonymous(this="MAP", expressions=[text("columnNameOfCorruptRecord"),
                                                     text(BAD_JSON)])
    return exp.Anonymous(this="FROM_JSON", expressions=[properties, text(schema), options])


def _ddl_name(key: str) -> str:
    """`key` as a Spark DDL field name (backquoted, a backquote doubled)."""
    return "`" + key.replace("`", "``") + "`"


def _field(struct: Node, key: str) -> Node:
    return exp.Dot(this=struct, expression=exp.to_identifier(key, quoted=True))


def json_texts(properties: Node, keys: list[str], dialect: Dialect,
               struct: Node | None = None) -> tuple[Node | None, list[Node]]:
    """The values of top-level `keys`, as `json_text` gives them, parsing the JSON once
    where the dialect can: (a column to compute first, named ``pj``, or None; one
    expression per key, over that column). `struct` is a `json_struct` already computed
    (Spark): its fields are read."""
    if struct is not None:
        return alias(struct, "pj"), [_field(col("pj"), k) for k in keys]
    if dialect == "duckdb" and keys:
        paths = exp.Array(expressions=[text(_path(k)) for k in keys])
        parsed = exp.Anonymous(this="JSON_EXTRACT_STRING", expressions=[properties, paths])
        return alias(parsed, "pj"), [exp.Bracket(this=col("pj"), offset=1, expressions=[
            exp.Literal.number(i + 1)]) for i in range(len(keys))]
    return None, [json_text(properties, k, dialect) for k in keys]


def _path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def json_text(properties: Node, key: str, dialect: Dialect) -> Node:
    """The value of top-level `key` of a JSON object text, as text (NULL when absent or
    null). Keys are quoted in the path, so any key works."""
    path = _path(key)
    if dialect == "spark":
        path = "$['" + key.replace("'", "\\'") + "']"
        return exp.Anonymous(this="GET_JSON_OBJECT", expressions=[properties, text(path)])
    return exp.Anonymous(this="JSON_EXTRACT_STRING", expressions=[properties, text(path)])
