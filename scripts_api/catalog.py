"""Read scripts from SCRIPTS_DIR without executing them: the `ast` module only.

A script is published when its file follows the rules of API.md; otherwise `parse_script`
raises `ScriptRejected` with a reason a script author can act on.
"""

import ast
import datetime
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from scripts_api import docstrings, file_schedule, pep723
from users import roles
from vault.names import name_problem as secret_name_problem

DEFAULT_TIMEOUT_SECONDS = 60
DEFAULT_MEMORY_MB = 512
# The interpreter itself maps about 40 MB of address space before a script allocates anything.
MIN_MEMORY_MB = 64

# Annotation (as written) -> JSON Schema of the parameter.
SIMPLE_TYPES: dict[str, dict] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime.date": {"type": "string", "format": "date"},
    "list[str]": {"type": "array", "items": {"type": "string"}},
    "list[int]": {"type": "array", "items": {"type": "integer"}},
}
LITERAL_NAMES = {"Literal", "typing.Literal"}
OPTIONAL_NAMES = {"Optional", "typing.Optional"}


class ScriptRejected(Exception):
    """The file breaks a rule of the script format; the message says which."""


@dataclass(frozen=True)
class ScriptSpec:
    """Everything the service needs to know about a script, read from its source."""

    slug: str
    filename: str
    title: str
    description: str
    policy: str | list[str]
    timeout_seconds: int
    memory_mb: int
    params_schema: dict
    version: str
    source: bytes = field(repr=False)
    # Names of the secrets the script receives as environment variables (see the vault app).
    secrets: tuple[str, ...] = ()
    # PEP 723 inline metadata: requirement strings, and the Python versions the script needs.
    dependencies: tuple[str, ...] = ()
    requires_python: str = ""
    # The file's own schedule (scripts_api/file_schedule.py), None when it declares none.
    schedule: dict | None = None


def slug_for(path: Path) -> str:
    """The URL name of a script: its file name without `.py`, underscores as hyphens."""
    return path.stem.replace("_", "-").lower()


def script_version(source: bytes) -> str:
    """A version that changes whenever the file's content does."""
    return hashlib.sha256(source).hexdigest()[:16]


def _literal(node: ast.expr, what: str):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ScriptRejected(f"{what} must be a literal value.") from None


def _constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level `NAME = value` (and `NAME: type = value`) assignments."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found[node.target.id] = node.value
    return found


def _policy(constants: dict[str, ast.expr]) -> str | list[str]:
    if "POLICY" not in constants:
        raise ScriptRejected("POLICY is missing: name a policy or list level keys.")
    policy = _literal(constants["POLICY"], "POLICY")
    if isinstance(policy, str):
        if policy not in roles.POLICIES:
            known = ", ".join(roles.POLICIES)
            raise ScriptRejected(f"POLICY '{policy}' is not a policy (known: {known}).")
        return policy
    if isinstance(policy, list | tuple) and policy and all(isinstance(k, str) for k in policy):
        unknown = [key for key in policy if key not in roles.LEVELS_BY_KEY]
        if unknown:
            known = ", ".join(roles.LEVELS_BY_KEY)
            raise ScriptRejected(f"POLICY names unknown levels {unknown} (known: {known}).")
        return sorted(set(policy), key=lambda key: roles.LEVELS_BY_KEY[key])
    raise ScriptRejected("POLICY must be a policy name or a non-empty list of level keys.")


def _secrets(constants: dict[str, ast.expr]) -> tuple[str, ...]:
    """`SECRETS = ["CRM_TOKEN", ...]`: the names of the secrets the script reads, in order."""
    if "SECRETS" not in constants:
        return ()
    names = _literal(constants["SECRETS"], "SECRETS")
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ScriptRejected('SECRETS must be a list of secret names, e.g. ["CRM_TOKEN"].')
    for name in names:
        problem = secret_name_problem(name)
        if problem:
            raise ScriptRejected(f"SECRETS: {problem}")
    return tuple(dict.fromkeys(names))


def _schedule(constants: dict[str, ast.expr], params_schema: dict) -> dict | None:
    values = {
        name: _literal(constants[name], name) for name in file_schedule.NAMES if name in constants
    }
    try:
        return file_schedule.read(values, params_schema)
    except file_schedule.ScheduleProblem as error:
        raise ScriptRejected(str(error)) from None


def _bounded_int(constants, name: str, default: int, low: int, high: int) -> int:
    if name not in constants:
        return default
    value = _literal(constants[name], name)
    if type(value) is not int or not low <= value <= high:
        raise ScriptRejected(f"{name} must be an integer from {low} to {high}.")
    return value


def _without_none(annotation: ast.expr) -> ast.expr | None:
    """`X` of `X | None`, `None | X`, `Optional[X]` or `typing.Optional[X]`; else None."""
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [annotation.left, annotation.right]
        nones = [s for s in sides if isinstance(s, ast.Constant) and s.value is None]
        if len(nones) == 1:
            return next(s for s in sides if s is not nones[0])
    if isinstance(annotation, ast.Subscript) and ast.unparse(annotation.value) in OPTIONAL_NAMES:
        return annotation.slice
    return None


def _annotation_schema(annotation: ast.expr | None, name: str) -> dict:
    if annotation is None:
        raise ScriptRejected(f"Parameter '{name}' has no type annotation.")
    inner = _without_none(annotation)
    if inner is not None:
        # The parameter may be null (OpenAPI's `nullable`: `type` stays one name for clients).
        return {**_annotation_schema(inner, name), "nullable": True}
    if isinstance(annotation, ast.Subscript) and ast.unparse(annotation.value) in LITERAL_NAMES:
        values = _literal(annotation.slice, f"The Literal of '{name}'")
        values = list(values) if isinstance(values, tuple) else [values]
        if values and all(type(v) is str for v in values):
            return {"type": "string", "enum": values}
        if values and all(type(v) is int for v in values):
            return {"type": "integer", "enum": values}
        raise ScriptRejected(f"The Literal of '{name}' must list strings or integers.")
    written = ast.unparse(annotation)
    if written not in SIMPLE_TYPES:
        allowed = "str, int, float, bool, datetime.date, list[str], list[int], Literal[...]"
        raise ScriptRejected(f"Parameter '{name}' has unsupported type {written} ({allowed}).")
    return dict(SIMPLE_TYPES[written])


def _default_fits(schema: dict, value) -> bool:
    """Whether a literal default has the parameter's type (`true` is not an integer)."""
    if "enum" in schema:
        return value in schema["enum"]
    kind = schema["type"]
    if schema.get("format") == "date":
        return False  # only `datetime.date(...)` gives a date default (see `_date_default`)
    if kind == "array":
        item = {"string": str, "integer": int}[schema["items"]["type"]]
        return isinstance(value, list) and all(type(v) is item for v in value)
    if kind == "number":
        return type(value) in (int, float)
    return type(value) is {"string": str, "integer": int, "boolean": bool}[kind]


def _date_default(node: ast.expr, name: str, date_names: set[str]) -> str | None:
    """`datetime.date(2024, 1, 31)` (or `date(...)`, imported) as "2024-01-31"; None when the
    default is not such a call. A call that is not a real date rejects the file."""
    if not isinstance(node, ast.Call) or ast.unparse(node.func) not in date_names:
        return None
    what = f"The default of '{name}'"
    args = [_literal(arg, what) for arg in node.args]
    try:
        keywords = {kw.arg: _literal(kw.value, what) for kw in node.keywords if kw.arg}
        if len(keywords) != len(node.keywords) or not all(
            type(v) is int for v in [*args, *keywords.values()]
        ):
            raise TypeError("the year, month and day must be integers")
        return datetime.date(*args, **keywords).isoformat()
    except (TypeError, ValueError, OverflowError) as error:
        raise ScriptRejected(f"{what} is not a date: {error}.") from None


def _date_names(tree: ast.Module) -> set[str]:
    """How this file may call `datetime.date`, by its top-level imports: `datetime.date` after
    `import datetime`, `date` (or its alias) after `from datetime import date`."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {
                f"{alias.asname or 'datetime'}.date"
                for alias in node.names
                if alias.name == "datetime"
            }
        elif isinstance(node, ast.ImportFrom) and node.module == "datetime" and not node.level:
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "date"}
    return names


def _params_schema(tree: ast.Module) -> dict:
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    if not mains:
        if any(isinstance(n, ast.AsyncFunctionDef) and n.name == "main" for n in tree.body):
            raise ScriptRejected("main must be a plain function, not async.")
        raise ScriptRejected("No top-level `def main(...)`: it is the script's entry point.")
    main = mains[-1]
    args = main.args
    if args.posonlyargs or args.vararg or args.kwarg:
        raise ScriptRejected("main takes named parameters only (no /, *args or **kwargs).")
    params = args.args + args.kwonlyargs
    defaults = [None] * (len(args.args) - len(args.defaults)) + args.defaults + args.kw_defaults
    texts = docstrings.documented(ast.get_docstring(main))
    unknown = [name for name in texts if name not in {param.arg for param in params}]
    if unknown:
        raise ScriptRejected(
            f"main's docstring documents {', '.join(unknown)}, which main does not take."
        )
    properties, required = {}, []
    date_names = _date_names(tree)
    for param, default in zip(params, defaults, strict=True):
        title, description = docstrings.label_and_help(param.arg, texts.get(param.arg))
        schema = {"title": title, **_annotation_schema(param.annotation, param.arg)}
        if description:
            schema["description"] = description
        if default is None:
            required.append(param.arg)
        elif schema.get("format") == "date" and (
            date := _date_default(default, param.arg, date_names)
        ):
            schema["default"] = date
        else:
            value = _literal(default, f"The default of '{param.arg}'")
            if value is not None:
                if not _default_fits(schema, value):
                    raise ScriptRejected(f"The default of '{param.arg}' does not fit its type.")
                schema["default"] = value
        properties[param.arg] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def parse_script(path: Path) -> ScriptSpec:
    """Read one script file into a `ScriptSpec`, or raise `ScriptRejected`. Never executes it."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*\.py", path.name):
        raise ScriptRejected("File names are lower-case letters, digits and underscores.")
    source = path.read_bytes()
    try:
        tree = ast.parse(source, filename=path.name)
    except (SyntaxError, ValueError) as error:
        raise ScriptRejected(f"Python cannot parse the file: {error}") from None
    except (RecursionError, MemoryError):
        # One hostile or broken file must not stop `sync_scripts` (and with it the service).
        raise ScriptRejected("Python cannot parse the file: it is nested too deeply.") from None
    try:
        dependencies, requires_python = pep723.read(source.decode("utf-8", errors="replace"))
    except pep723.MetadataError as error:
        raise ScriptRejected(str(error)) from None
    docstring = ast.get_docstring(tree)
    if not docstring:
        raise ScriptRejected("The module docstring is missing: its first line is the title.")
    title, _, description = docstring.partition("\n")
    constants = _constants(tree)
    policy = _policy(constants)
    timeout_seconds = _bounded_int(
        constants,
        "TIMEOUT_SECONDS",
        DEFAULT_TIMEOUT_SECONDS,
        1,
        settings.SCRIPT_MAX_TIMEOUT_SECONDS,
    )
    memory_mb = _bounded_int(
        constants, "MEMORY_MB", DEFAULT_MEMORY_MB, MIN_MEMORY_MB, settings.SCRIPT_MAX_MEMORY_MB
    )
    params_schema = _params_schema(tree)
    return ScriptSpec(
        slug=slug_for(path),
        filename=path.name,
        title=title.strip()[:200],
        description=description.strip(),
        policy=policy,
        timeout_seconds=timeout_seconds,
        memory_mb=memory_mb,
        params_schema=params_schema,
        version=script_version(source),
        source=source,
        secrets=_secrets(constants),
        dependencies=dependencies,
        requires_python=requires_python,
        schedule=_schedule(constants, params_schema),
    )


@dataclass
class CatalogScan:
    """What a read of the scripts folder found."""

    scripts: list[ScriptSpec] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    # The version of each rejected file's content ("" when it cannot be read).
    rejected_versions: dict[str, str] = field(default_factory=dict)


def scan(directory: Path | None = None) -> CatalogScan:
    """Parse every `*.py` in the scripts folder (not recursively, `_`-prefixed files skipped)."""
    directory = Path(directory or settings.SCRIPTS_DIR)
    result = CatalogScan()
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_") or not path.is_file():
            continue
        try:
            result.scripts.append(parse_script(path))
        except ScriptRejected as error:
            result.rejected[path.name] = str(error)
            result.rejected_versions[path.name] = _version_of(path)
    return result


def _version_of(path: Path) -> str:
    try:
        return script_version(path.read_bytes())
    except OSError:
        return ""
