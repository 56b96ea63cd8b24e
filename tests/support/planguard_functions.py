"""Python twins of planguard's custom Rego functions, for OPA's engine.

src/check/functions.rs is the original: every result and message here must
be identical to it, and tests/it/functions_twins.rs checks that they are. The
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
    return _entropy(text)


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
    whole subject), not-after as RFC 3339 UTC and Unix seconds, not-before
    as Unix seconds; [] when the
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
        since = int(ssl.cert_time_to_seconds(decoded["notBefore"]))
        when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        found.append(
            {
                "subject": names[0] if names else "",
                "not_after": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "not_after_s": seconds,
                "not_before_s": since,
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


# ------------------------------------------------------------------ secrets
# src/check/secrets.rs, step for step. Patterns are compiled with re.ASCII,
# so that \d-free, \w-free ASCII classes mean what they mean to Rust's regex;
# case-insensitive matches run on an ASCII-lowercased copy of the text.

_PASSWORD_WORDS = {"password", "passwd", "pwd", "passphrase", "passcode", "secret"}
_TOKEN_WORDS = {
    "token", "apikey", "accesskey", "secretkey", "privatekey", "credential", "credentials", "sig",
}
_KEY_QUALIFIERS = {
    "api", "access", "secret", "private", "signing", "auth", "account", "routing",
    "integration", "master", "client", "app", "shared", "storage", "subscription",
    "license", "encryption", "webhook", "sas", "ssh", "deploy", "service",
}

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _ascii_lower(text):
    return text.translate(_ASCII_LOWER)


def _is_lower(c):
    return "a" <= c <= "z"


def _is_upper(c):
    return "A" <= c <= "Z"


def _is_digit(c):
    return "0" <= c <= "9"


def _is_alnum(c):
    return _is_lower(c) or _is_upper(c) or _is_digit(c)


def key_words(key):
    words, word = [], ""
    for i, c in enumerate(key):
        if not _is_alnum(c):
            if word:
                words.append(word)
                word = ""
            continue
        if word:
            p = key[i - 1]
            next_lower = i + 1 < len(key) and _is_lower(key[i + 1])
            boundary = (
                (_is_upper(c) and (_is_lower(p) or _is_digit(p)))
                or (_is_upper(c) and _is_upper(p) and next_lower)
                or (_is_digit(c) != _is_digit(p))
            )
            if boundary:
                words.append(word)
                word = ""
        word += c
    if word:
        words.append(word)
    return [_ascii_lower(w) for w in words if not all(_is_digit(c) for c in w)]


def key_class(key):
    words = key_words(key)
    if not words:
        return None
    last = words[-1]
    before = words[-2] if len(words) >= 2 else None
    if last in _PASSWORD_WORDS:
        return "password"
    if last in _TOKEN_WORDS:
        return "token"
    if last == "key" and before in _KEY_QUALIFIERS:
        return "token"
    if last == "url" and before == "webhook":
        return "webhook"
    if last == "authorization":
        return "authorization"
    if words[-3:] == ["auth", "user", "info"]:
        return "password"
    if any(a == "account" and b == "key" for a, b in zip(words, words[1:])):
        return "token"
    return None


_TOKENS = [
    ("an AWS access key id", r"(?:^|[^A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})"),
    ("a Google API key", r"(?:^|[^A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})"),
    ("a Google OAuth token", r"(?:^|[^A-Za-z0-9_-])(ya29\.[0-9A-Za-z_-]{30,})"),
    ("a Google OAuth client secret", r"(?:^|[^A-Za-z0-9_-])(GOCSPX-[0-9A-Za-z_-]{28})"),
    (
        "an Azure client secret",
        r"(?:^|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})",
    ),
    (
        "a GitHub token",
        r"(?:^|[^A-Za-z0-9_])((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})",
    ),
    ("a GitLab token", r"(?:^|[^A-Za-z0-9_-])(glpat-[A-Za-z0-9_-]{20})"),
    (
        "a Slack token",
        r"(?:^|[^A-Za-z0-9_-])(xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,})",
    ),
    (
        "a Slack webhook URL",
        r"(https://hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+)",
    ),
    ("a Databricks token", r"(?:^|[^A-Za-z0-9_])(dapi[0-9a-f]{32}(?:-[0-9]+)?)"),
    ("a Stripe key", r"(?:^|[^A-Za-z0-9_])((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,})"),
    (
        "a JSON web token",
        r"(?:^|[^A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
    ),
    ("a HashiCorp Vault token", r"(?:^|[^A-Za-z0-9_])(hv[sb]\.[A-Za-z0-9_-]{24,})"),
    ("an npm token", r"(?:^|[^A-Za-z0-9_])(npm_[A-Za-z0-9]{36})"),
    (
        "a SendGrid API key",
        r"(?:^|[^A-Za-z0-9_])(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})",
    ),
    ("a PyPI token", r"(?:^|[^A-Za-z0-9_])(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})"),
]
_TOKEN_PATTERNS = [(kind, re.compile(p, re.ASCII)) for kind, p in _TOKENS]
_USERINFO = re.compile(
    r"(?:^|[^A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9+.-]+:)?//[^/:@ \t\r\n]+:([^/@ \t\r\n]+)@",
    re.ASCII,
)
_ORACLE = re.compile(r"jdbc:oracle:[a-z0-9]+:[A-Za-z0-9_#]+/([^@/ \t\r\n]+)@", re.ASCII)
_ASSIGNMENT = re.compile(
    r"""(^|[ \t\r\n?&;,])(-D|--)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*(?:"([^"]*)"|'([^']*)'|([^ \t\r\n;&,"']+))""",
    re.ASCII,
)
_BEARER = re.compile(r"(?:^|[^a-z0-9_])bearer[ \t]+([a-z0-9._~+/-]{8,}=*)", re.ASCII)
_AUTHORIZATION = re.compile(
    r"authorization[ \t]*[:=][ \t]*(?:basic|token|apikey)[ \t]+([a-z0-9._~+/-]{8,}=*)", re.ASCII
)
_AUTHORIZATION_VALUE = re.compile(
    r"^(?:basic|bearer|token|apikey|digest)[ \t]+([a-z0-9._~+/-]{8,}=*)", re.ASCII
)
_PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", re.ASCII)

_REFERENCE_PREFIXES = ("vault://", "aws-sm://", "gcp-sm://", "azure-kv://")
_SPACE = " \t\n\r\x0b\x0c"


def _not_a_value(text):
    lower = _ascii_lower(text)
    if (
        text == ""
        or lower.startswith(_REFERENCE_PREFIXES)
        or lower.startswith("arn:")
        or text.startswith(("${", "{{", "#{", "%{", "$("))
        or (text.startswith("<") and text.endswith(">"))
        or (len(text.encode("utf-8")) >= 3 and all(c == "*" for c in text))
    ):
        return True
    return (
        len(text) >= 2
        and text[0] == "$"
        and (("a" <= _ascii_lower(text[1]) <= "z") or text[1] == "_")
        and all(_is_alnum(c) or c == "_" for c in text[2:])
    )


def _literal(text):
    if _not_a_value(text):
        return False
    lower = _ascii_lower(text)
    path = text.startswith(("/", "./", "~/")) or lower.startswith("file:")
    path = path and not any(c in _SPACE for c in text)
    return not path and lower not in ("true", "false", "none", "null")


def _uuid(text):
    if len(text.encode("utf-8")) != 36:
        return False
    for i, c in enumerate(text):
        if i in (8, 13, 18, 23):
            if c != "-":
                return False
        elif not (_is_digit(c) or "a" <= _ascii_lower(c) <= "f"):
            return False
    return True


def _dotted_identifier(text):
    parts = text.split(".")
    return len(parts) >= 2 and all(
        p != ""
        and (_is_lower(p[0]) or _is_upper(p[0]) or p[0] == "_")
        and all(_is_alnum(c) or c in "_-" for c in p)
        for p in parts
    )


def _lowercase_identifier(text):
    parts = re.split(r"[-_.]", text)
    return len(parts) >= 2 and all(
        p != "" and (all(_is_lower(c) for c in p) or all(_is_digit(c) for c in p))
        for p in parts
    )


def _random_looking(text, url):
    if not _literal(text) or len(text) < 16 or any(c in _SPACE for c in text):
        return False
    lower = _ascii_lower(text)
    if "://" in text:
        return url and _entropy(text) >= 3.5
    if (
        lower.startswith(("sha1:", "sha256:", "sha384:", "sha512:", "md5:"))
        or _uuid(text)
        or _dotted_identifier(text)
        or _lowercase_identifier(text)
    ):
        return False
    return (
        any(_is_digit(c) for c in text)
        and any(_is_lower(c) or _is_upper(c) for c in text)
        and _entropy(text) >= 3.0
    )


def _value_secret(name, value):
    kind = key_class(name)
    if kind == "password":
        return _literal(value)
    if kind == "token":
        return _random_looking(value, False)
    if kind == "webhook":
        return _random_looking(value, True)
    return False


def _scan_string(text, key, under_pagerduty):
    """[(rank, kind, start, end)] in characters, as scan_string in Rust."""
    if text == "":
        return []
    hits = []
    if "-----BEGIN " in text:
        m = _PRIVATE_KEY.search(text)
        if m:
            end = len(text)
            i = text.find("-----END ", m.end())
            if i >= 0:
                after = i + len("-----END ")
                j = text.find("-----", after)
                if j >= 0:
                    end = j + len("-----")
            hits.append((1, "a private key", m.start(), end))
    for kind, pattern in _TOKEN_PATTERNS:
        for m in pattern.finditer(text):
            hits.append((2, kind, m.start(1), m.end(1)))
    if "@" in text:
        for pattern, kind in (
            (_USERINFO, "a password in a URL's user information"),
            (_ORACLE, "a password in an Oracle connect string"),
        ):
            for m in pattern.finditer(text):
                if not _not_a_value(m.group(1)):
                    hits.append((3, kind, m.start(1), m.end(1)))
    if "=" in text:
        for m in _ASSIGNMENT.finditer(text):
            name = m.group(3)
            group = next((g for g in (4, 5, 6) if m.group(g) is not None), None)
            if group is None or not _value_secret(name, m.group(group)):
                continue
            if "LoginModule" in text:
                place = "a JAAS configuration"
            elif m.group(2) == "-D":
                place = "a JVM option"
            elif m.group(1) in ("?", "&"):
                place = "a URL query"
            else:
                place = "a connection string"
            what = "a password" if key_class(name) == "password" else f"a secret (`{name}`)"
            hits.append((4, f"{what} in {place}", m.start(group), m.end(group)))
    lower = _ascii_lower(text)
    cls = key_class(key) if key is not None else None
    headers = [
        (_BEARER, "a bearer token"),
        (_AUTHORIZATION, "an Authorization header credential"),
    ]
    if cls == "authorization":
        headers.append((_AUTHORIZATION_VALUE, "an Authorization header credential"))
    for pattern, kind in headers:
        for m in pattern.finditer(lower):
            if not all(_is_lower(c) for c in m.group(1)):
                hits.append((5, kind, m.start(1), m.end(1)))
    if cls == "password" and _literal(text):
        hits.append((6, f"a literal value under `{key}`", 0, len(text)))
    elif cls in ("token", "webhook") and _random_looking(text, cls == "webhook"):
        hits.append((8, f"a random-looking value under `{key}`", 0, len(text)))
    if (
        under_pagerduty
        and len(text.encode("utf-8")) == 32
        and all(_is_alnum(c) or c in "+_-" for c in text)
    ):
        hits.append((7, "a PagerDuty integration key", 0, len(text)))
    return hits


def _walk(value, path, key, pagerduty, found):
    if isinstance(value, str):
        hits = _scan_string(value, key, pagerduty > 0)
        if hits:
            best = min(hits, key=lambda h: (h[0], h[2]))
            found.append(
                [
                    list(path),
                    {
                        "kind": best[1],
                        "start": min(h[2] for h in hits),
                        "end": max(h[3] for h in hits),
                        "length": best[3] - best[2],
                    },
                ]
            )
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, path + [i], None, pagerduty, found)
    elif isinstance(value, dict):
        named = None
        for k in ("name", "key"):
            if isinstance(value.get(k), str) and isinstance(value.get("value"), str):
                named = value[k]
                break
        for k, v in value.items():
            if not isinstance(k, str):
                continue
            mention = 1 if "pagerduty" in _ascii_lower(k) else 0
            member_key = named if (named is not None and k == "value") else k
            _walk(v, path + [k], member_key, pagerduty + mention, found)


def secrets(doc):
    found = []
    _walk(doc, [], None, 0, found)
    found.sort(key=lambda row: [(0, p) if isinstance(p, int) else (1, p) for p in row[0]])
    return found


def _entropy(text):
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
        "planguard.secrets": secrets,
        "planguard.prefixed_strings": prefixed_strings,
        "planguard.leaves": leaves,
    }


# How many arguments each function takes (one string, unless named here).
ARITY = {"planguard.prefixed_strings": 2}


def prefixed_strings(doc, prefixes):
    """Every string value below doc (not object keys) that starts with one of
    prefixes, as [path, value] in document order, keys sorted as Rego's
    objects are."""
    if not isinstance(prefixes, list):
        kind = _TYPE_NAMES.get(type(prefixes), type(prefixes).__name__)
        raise TypeError(f"planguard.prefixed_strings expects an array of prefixes, got {kind}")
    found = []

    def walk(value, path):
        if isinstance(value, str):
            if any(value.startswith(p) for p in prefixes):
                found.append([list(path), value])
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, path + [i])
        elif isinstance(value, dict):
            for k in sorted(value, key=str):
                walk(value[k], path + [k])

    walk(doc, [])
    return found


def leaves(doc):
    """Every value below the objects of doc that is not an object (arrays
    whole), as [path, value] with the keys that lead to it, keys sorted as
    Rego's objects are; [] when doc is not an object."""
    found = []

    def visit(value, path):
        for k in sorted(value, key=str):
            member = value[k]
            if isinstance(member, dict):
                visit(member, path + [k])
            else:
                found.append([path + [k], member])

    if isinstance(doc, dict):
        visit(doc, [])
    return found


FUNCTIONS = functions()


def register(engine, root=None):
    """Register every planguard.* function on an opa_bindings.OpaEngine, the
    file functions confined to `root`."""
    for name, function in functions(root).items():
        engine.register_function(name, function, arity=ARITY.get(name, 1))
