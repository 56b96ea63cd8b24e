"""Python twins of planguard's custom Rego functions, for OPA's engine.

src/check/functions.rs is the original: every result and message here must
be identical to it, and tests/functions_twins.rs checks that they are. The
rules that make "identical" hold are copied on purpose: ASCII-only digits,
whitespace and case folding, Rust's `str::trim` set of white space, sorted
summation for entropy, int64 nanoseconds for durations.

The file functions read only inside a sandbox folder (the working folder
unless register() is given another), as planguard's do inside the workspace
of the document being checked.

usage: from planguard_functions import register; register(OpaEngine(), root)
"""

import hashlib
import math
import os
import re
import zoneinfo

# --------------------------------------------------------------------- cron

# (name, min, max, names, value of the first name, "?" allowed, name kind)
FIELDS = [
    ("minute", 0, 59, [], 0, False, ""),
    ("hour", 0, 23, [], 0, False, ""),
    ("day-of-month", 1, 31, [], 0, True, ""),
    (
        "month",
        1,
        12,
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN",
         "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        1,
        False,
        "month",
    ),
    ("day-of-week", 0, 7, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 0, True, "weekday"),
]

DESCRIPTORS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]

# Rust's split_ascii_whitespace: space, tab, LF, form feed, CR (not VT).
ASCII_WHITESPACE = re.compile("[ \t\n\x0c\r]+")


class CronError(Exception):
    pass


def is_digits(text):
    return text != "" and all(c in "0123456789" for c in text)


def cron_error(expr):
    _expect_string("planguard.cron_error", expr)
    try:
        _cron_check(expr)
    except CronError as e:
        return str(e)
    return ""


def _cron_check(expr):
    tokens = [t for t in ASCII_WHITESPACE.split(expr) if t]
    if not tokens:
        raise CronError("cron expression is empty")
    for prefix in ("CRON_TZ=", "TZ="):
        if tokens[0].startswith(prefix):
            zone = tokens[0][len(prefix):]
            if zone == "":
                raise CronError(f'time zone is missing after "{prefix}"')
            if not _timezone_valid(zone):
                raise CronError(f'unknown time zone "{zone}"')
            tokens = tokens[1:]
            if not tokens:
                raise CronError("cron expression has a time zone but no schedule")
            break
    if tokens[0].startswith("@"):
        if tokens[0] not in DESCRIPTORS:
            raise CronError(
                f'unknown descriptor "{tokens[0]}" (expected @yearly, @annually, @monthly, '
                "@weekly, @daily, @midnight or @hourly)"
            )
        if len(tokens) > 1:
            raise CronError(
                f'descriptor "{tokens[0]}" must stand alone, found {len(tokens)} fields'
            )
        return
    if len(tokens) != len(FIELDS):
        raise CronError(
            "expected 5 fields (minute hour day-of-month month day-of-week), "
            f"found {len(tokens)}"
        )
    for field, text in zip(FIELDS, tokens):
        _check_field(field, text)


def _check_field(field, text):
    name, _, _, _, _, question_mark, _ = field
    if text == "?":
        if question_mark:
            return
        raise CronError(f'{name} field "?" is only allowed in day-of-month and day-of-week')
    for item in text.split(","):
        if item == "":
            raise CronError(f'{name} field "{text}" has an empty list entry')
        _check_item(field, item)


def _check_item(field, item):
    name = field[0]
    base, slash, step = item.partition("/")
    if slash:
        if "/" in step:
            raise CronError(f'{name} field "{item}" has more than one "/"')
        if not is_digits(step):
            raise CronError(f'{name} field "{item}" has a step "{step}" that is not a whole number')
        if set(step) == {"0"}:
            raise CronError(f'{name} field "{item}" has a step of 0')
    if base == "*":
        return
    if base == "?":
        raise CronError(f'{name} field "{item}": "?" must be the whole field')
    if base == "":
        raise CronError(f'{name} field "{item}" is missing a value before "/"')
    low, dash, high = base.partition("-")
    if not dash:
        _field_value(field, base)
        return
    if low == "" or high == "" or "-" in high:
        raise CronError(f'{name} field "{base}" is not a valid range')
    if _field_value(field, low) > _field_value(field, high):
        raise CronError(f'{name} field "{base}" is a reversed range')


def _field_value(field, text):
    name, low, high, names, names_first, _, name_kind = field
    if is_digits(text):
        # Rust parses into u32; past 10 digits it is out of range anyway, and
        # int() refuses strings beyond 4300 digits.
        digits = text.lstrip("0") or "0"
        value = int(digits) if len(digits) <= 10 else high + 1
        if low <= value <= high:
            return value
        raise CronError(f'{name} field "{text}" is out of range {low}-{high}')
    if not names:
        raise CronError(f'{name} field "{text}" is not a number')
    # ASCII case folding only, as Rust's to_ascii_uppercase ("ſun" is no "SUN").
    upper = text.upper() if text.isascii() else text
    if upper in names:
        return names.index(upper) + names_first
    raise CronError(f'{name} field "{text}" is not a number or {name_kind} name')


# ------------------------------------------------------------------ the rest

# zoneinfo also lists the files that are not zones in the system database's
# folder; chrono-tz (the Rust side) has neither.
_NOT_ZONES = {"localtime", "posixrules", "Factory"}
_ZONES = frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


def _timezone_valid(name):
    return name in _ZONES


def timezone_valid(name):
    _expect_string("planguard.timezone_valid", name)
    return _timezone_valid(name)


def entropy(text):
    _expect_string("planguard.entropy", text)
    counts = {}
    for c in text:
        counts[c] = counts.get(c, 0) + 1
    total = float(len(text))
    bits = 0.0
    # Code point order, as the Rust side's BTreeMap<char, _>.
    for c in sorted(counts):
        p = counts[c] / total
        bits -= p * math.log2(p)
    return bits


FILE_SHA256_MAX_BYTES = 64 * 1024 * 1024


OUTSIDE = "leads out of the workspace"
OUTSIDE_BY_LINK = "leads out of the workspace through a symbolic link"


def _inside(path, root):
    """Rust's Path::starts_with: whole components."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def _confine(path, root):
    """src/check/functions.rs `confine`: (the real path to open or None when
    nothing is there, "" or why the path is not read)."""
    try:
        cwd = os.path.realpath(os.getcwd(), strict=True)
        root = os.path.realpath(cwd if root is None else root, strict=True)
    except OSError:
        return None, OUTSIDE
    if not _inside(os.path.normpath(os.path.join(cwd, path)), root):
        return None, OUTSIDE
    if path == "":
        return None, ""
    try:
        real = os.path.realpath(path, strict=True)
    except (OSError, ValueError):
        return None, ""
    if not _inside(real, root):
        return None, OUTSIDE_BY_LINK
    return real, ""


def path_error(path, root=None):
    _expect_string("planguard.path_error", path)
    return _confine(path, root)[1]


def file_sha256(path, root=None):
    _expect_string("planguard.file_sha256", path)
    real, _ = _confine(path, root)
    if real is None:
        return ""
    digest = hashlib.sha256()
    read = 0
    try:
        with open(real, "rb") as f:
            while chunk := f.read(64 * 1024):
                read += len(chunk)
                if read > FILE_SHA256_MAX_BYTES:
                    return ""
                digest.update(chunk)
    except (OSError, ValueError):
        # ValueError: a NUL in the path, which Rust reports as an I/O error.
        return ""
    return digest.hexdigest()


def certificates(path, root=None):
    """The X.509 certificates of a PEM file: subject common name (or the
    whole subject), not-after as RFC 3339 UTC and Unix seconds; [] when the
    file cannot be read, is too large or holds none. Uses CPython's own
    certificate decoder, one PEM block at a time."""
    import datetime
    import re
    import ssl
    import tempfile

    _expect_string("planguard.certificates", path)
    real, _ = _confine(path, root)
    if real is None:
        return []
    try:
        with open(real, "rb") as f:
            data = f.read(FILE_SHA256_MAX_BYTES + 1)
    except (OSError, ValueError):
        return []
    if len(data) > FILE_SHA256_MAX_BYTES:
        return []
    found = []
    blocks = re.findall(
        rb"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", data, re.S
    )
    for block in blocks:
        with tempfile.NamedTemporaryFile(suffix=".pem") as one:
            one.write(block + b"\n")
            one.flush()
            try:
                decoded = ssl._ssl._test_decode_cert(one.name)
            except (ssl.SSLError, OSError, ValueError):
                continue
        names = [v for rdn in decoded.get("subject", ()) for (k, v) in rdn if k == "commonName"]
        seconds = int(ssl.cert_time_to_seconds(decoded["notAfter"]))
        when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        found.append(
            {
                "subject": names[0] if names else "",
                "not_after": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "not_after_s": seconds,
            }
        )
    return found


# Unicode White_Space, what Rust's str::trim removes (str.strip() would also
# remove \x1c-\x1f).
_RUST_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_UNITS = {"ns": 1.0, "us": 1e3, "\u00b5s": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
_U64_MAX = float(2**64 - 1)
_I64_MAX = 2**63 - 1


def _duration_nanos(text):
    """src/duration.rs `parse`, step for step; None where it returns Err."""
    text = text.strip(_RUST_WHITE_SPACE)
    if text == "0":
        return 0
    if text == "":
        return None
    number_chars = set("0123456789.")
    total = 0.0
    rest = text
    while rest:
        digits = next((i for i, c in enumerate(rest) if c not in number_chars), None)
        if digits is None or digits == 0:
            return None
        try:
            number = float(rest[:digits])
        except ValueError:
            return None
        rest = rest[digits:]
        unit_len = next((i for i, c in enumerate(rest) if c in number_chars), len(rest))
        unit = rest[:unit_len]
        if unit not in _UNITS:
            return None
        total += number * _UNITS[unit]
        rest = rest[unit_len:]
    if not math.isfinite(total) or total > _U64_MAX:
        return None
    # Rust's `as u64` truncates and saturates.
    return min(int(total), 2**64 - 1)


def duration_ns(text):
    _expect_string("planguard.duration_ns", text)
    nanos = _duration_nanos(text)
    if nanos is None or nanos > _I64_MAX:
        return -1
    return nanos


# ---------------------------------------------------------------- wiring

_TYPE_NAMES = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _expect_string(name, value):
    if not isinstance(value, str):
        kind = _TYPE_NAMES.get(type(value), type(value).__name__)
        raise TypeError(f"{name} expects a string argument, got {kind}")


def functions(root=None):
    """Every planguard.* function by name, the file functions confined to
    `root` (the working folder when None)."""
    return {
        "planguard.cron_error": cron_error,
        "planguard.timezone_valid": timezone_valid,
        "planguard.entropy": entropy,
        "planguard.file_sha256": lambda path: file_sha256(path, root),
        "planguard.duration_ns": duration_ns,
        "planguard.certificates": lambda path: certificates(path, root),
        "planguard.path_error": lambda path: path_error(path, root),
    }


FUNCTIONS = functions()


def register(engine, root=None):
    """Register every planguard.* function on an opa_bindings.OpaEngine, the
    file functions confined to `root`."""
    for name, function in functions(root).items():
        engine.register_function(name, function, arity=1)
