#!/usr/bin/env python3
"""Derive the set of valid emqx.conf key paths of one EMQX release from
that release's own HOCON schema source.

    scripts/emqx-key-table.py GIT_DIR TAG --hocon-git DIR --typerefl-git DIR
        [--edition ce|ee] [-o OUT] [--report]

The committed tables were produced with:

    scripts/emqx-key-table.py "$EMQX_GIT" v5.8.9 \
        --hocon-git "$HOCON_GIT" --typerefl-git "$TYPEREFL_GIT" \
        -o src/formats/emqx/emqx-5.8.keys \
        --compare 5.7.2=v5.7.2 --compare e5.8.9=e5.8.9 \
        --compare 5.9.3=e5.9.3 --compare 5.10.4=e5.10.4 \
        --other-out src/formats/emqx/other-releases.keys

GIT_DIR is a bare git directory of github.com/emqx/emqx (e.g. what the
`fetch` tool returns); nothing is checked out, every file is read with
`git show TAG:path`.

How it works
------------
EMQX builds its configuration schema at run time: `emqx_conf_schema:roots/0`
calls into dozens of modules, injects authn/authz providers through
`emqx_schema_hooks`, registers bridge/action schemas through
`emqx_action_info`/`emqx_connector_info`, and so on.  Scraping the source
with regular expressions cannot follow that.  Instead this script contains a
small interpreter for the subset of Erlang that schema code uses (lexer,
preprocessor with -define/-include/-ifdef/-if, a parser for the expression
grammar incl. funs, comprehensions, maps, records, try/case/if/maybe, and
an evaluator with the OTP BIFs these modules call).  It evaluates
`emqx_conf_schema:roots()` exactly like `hocon_schema:find_structs/1` does
and walks every struct, array, map and union member, recording each field's
`deprecated`, `importance => hidden` and `aliases` metadata.

Only a handful of things are not taken from the emqx source:
  * the hocon / typerefl headers, read from those repositories at the tags
    the emqx tag pins (--hocon-git, --typerefl-git), and hoconsc's
    constructor functions (re-implemented);
  * runtime facts: `emqx_release:edition()` (from --edition), no loaded
    applications, `os:getenv/1` returns false, etc.

Self-checks (exit status 1 on failure): known keys present / 4.x keys
absent, no struct failed to evaluate, and every key used in the HOCON files
the same tag ships (rel/config/examples/*.example, and for ee
rel/config/ee-examples/*; apps/*/etc/emqx*.conf, which
scripts/merge-config.escript concatenates into the shipped etc/emqx.conf, and
apps/emqx_conf/etc/base.hocon) resolves in the generated table.

Two constructs get special treatment (both documented in docs/emqx-target.md):
typerefl map types (e.g. prometheus.headers) accept any sub key and are
listed as `path.<name>`; a union whose all_union_members selector returns
bare struct names (instead of ref(Name)) has those names walked as refs of
the enclosing module.

Output format (one line per key path; both structs and leaves are listed):
    path<TAB>flags
flags is `-` or a comma list of: deprecated, hidden, alias-of=CANONICAL.
`<name>` stands for any map key (user-chosen names), `[]` for an array
element (e.g. `authentication[].mechanism`).  deprecated/hidden are
inherited by a field's descendants.  A path reached through several union
members is deprecated/hidden only if it is so in every member.
"""

import argparse
import os
import re
import subprocess
import sys
import threading
from collections import defaultdict

# ---------------------------------------------------------------------------
# Erlang terms
# ---------------------------------------------------------------------------


class Atom(str):
    __slots__ = ()

    def __repr__(self):
        return "'" + str(self) + "'"

    def __eq__(self, other):
        return type(other) is Atom and str.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return str.__hash__(self)


TRUE = Atom("true")
FALSE = Atom("false")
OK = Atom("ok")
UNDEFINED = Atom("undefined")


def ebool(b):
    return TRUE if b else FALSE


class EList(tuple):
    __slots__ = ()

    def __eq__(self, other):
        return type(other) is EList and tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("L", tuple(self)))

    def __repr__(self):
        if self and all(type(c) is int and 32 <= c < 127 for c in self):
            return '"' + "".join(map(chr, self)) + '"'
        return "[" + ", ".join(map(repr, self)) + "]"


class ETuple(tuple):
    __slots__ = ()

    def __eq__(self, other):
        return type(other) is ETuple and tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("T", tuple(self)))

    def __repr__(self):
        return "{" + ", ".join(map(repr, self)) + "}"


class Improper:
    def __init__(self, heads, tail):
        self.heads = tuple(heads)
        self.tail = tail

    def __repr__(self):
        return "[%s | %r]" % (", ".join(map(repr, self.heads)), self.tail)


class EMap(dict):
    def __hash__(self):
        return hash(("M", frozenset((k, hash_any(v)) for k, v in self.items())))

    def __repr__(self):
        return "#{" + ", ".join("%r => %r" % kv for kv in self.items()) + "}"


def hash_any(v):
    try:
        return hash(v)
    except TypeError:
        return id(v)


NIL = EList()


def estr(s):
    return EList(ord(c) for c in s)


def ebin(s):
    return s.encode("utf-8") if isinstance(s, str) else bytes(s)


class Fun:
    """A closure: clauses evaluated in the defining module with captured env."""

    def __init__(self, mod, clauses, env, name=None):
        self.mod = mod
        self.clauses = clauses
        self.env = env
        self.name = name
        self.arity = len(clauses[0][0])

    def __repr__(self):
        return "#Fun<%s>" % self.mod.name


class ExtFun:
    def __init__(self, m, f, arity):
        self.m, self.f, self.arity = m, f, arity

    def __repr__(self):
        return "fun %s:%s/%d" % (self.m, self.f, self.arity)


class PyFun:
    def __init__(self, fn, arity):
        self.fn, self.arity = fn, arity


def is_fun(v):
    return isinstance(v, (Fun, ExtFun, PyFun))


class ErlError(Exception):
    def __init__(self, cls, reason, where="", stack=None):
        Exception.__init__(self, "%s:%r %s" % (cls, reason, where))
        self.cls = cls
        self.reason = reason
        self.stack = NIL if stack is None else stack


def undef(m, f, args):
    return ErlError(Atom("error"), Atom("undef"), "%s:%s/%d" % (m, f, len(args)),
                    EList([ETuple((Atom(str(m)), Atom(str(f)), EList(args), NIL))]))


def erl_error(reason):
    raise ErlError(Atom("error"), reason)


def to_text(v):
    """Erlang name (atom/string/binary/iolist) -> python str."""
    if isinstance(v, Atom):
        return str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, EList):
        out = []
        for x in v:
            if type(x) is int:
                out.append(chr(x))
            else:
                out.append(to_text(x))
        return "".join(out)
    if type(v) is int:
        return str(v)
    raise TypeError("not a name: %r" % (v,))


def iolist_bytes(v):
    if isinstance(v, bytes):
        return v
    if type(v) is int:
        return bytes([v]) if v < 256 else chr(v).encode("utf-8")
    if isinstance(v, EList):
        return b"".join(iolist_bytes(x) for x in v)
    if isinstance(v, Improper):
        return b"".join(iolist_bytes(x) for x in v.heads) + iolist_bytes(v.tail)
    erl_error(Atom("badarg"))


def chardata_text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if type(v) is int:
        return chr(v)
    if isinstance(v, Atom):
        return str(v)
    if isinstance(v, EList):
        return "".join(chardata_text(x) for x in v)
    erl_error(Atom("badarg"))


def exact_eq(a, b):
    if type(a) in (int, float) or type(b) in (int, float):
        return type(a) is type(b) and a == b
    if isinstance(a, (EList, ETuple)) and type(a) is type(b):
        return len(a) == len(b) and all(exact_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, EMap) and isinstance(b, EMap):
        return len(a) == len(b) and all(k in b and exact_eq(v, b[k]) for k, v in a.items())
    return a == b


def loose_eq(a, b):
    if type(a) in (int, float) and type(b) in (int, float):
        return a == b
    if isinstance(a, (EList, ETuple)) and type(a) is type(b):
        return len(a) == len(b) and all(loose_eq(x, y) for x, y in zip(a, b))
    return exact_eq(a, b)


def type_rank(v):
    t = type(v)
    if t in (int, float):
        return 0
    if t is Atom:
        return 1
    if isinstance(v, (Fun, ExtFun, PyFun)):
        return 3
    if t is ETuple:
        return 6
    if t is EMap:
        return 7
    if t is EList:
        return 8 if len(v) == 0 else 9
    if t is bytes:
        return 10
    return 5


def term_key(v):
    r = type_rank(v)
    if r == 0:
        return (0, v)
    if r == 1:
        return (1, str(v))
    if r == 6:
        return (6, len(v), tuple(term_key(x) for x in v))
    if r == 7:
        ks = sorted(v.keys(), key=term_key)
        return (7, len(v), tuple(term_key(k) for k in ks), tuple(term_key(v[k]) for k in ks))
    if r in (8, 9):
        return (8, tuple(term_key(x) for x in v))
    if r == 10:
        return (10, v)
    return (r, id(v))


def term_lt(a, b):
    return term_key(a) < term_key(b)


# ---------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------

KEYWORDS = {
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr",
    "bxor", "case", "catch", "div", "end", "fun", "if", "not", "of", "or",
    "orelse", "receive", "rem", "try", "when", "xor",
}
MAYBE_KEYWORDS = {"maybe", "else"}

PUNCT = sorted(
    [
        "<<", ">>", "->", "=>", ":=", "::", "||", "<-", "<=", "++", "--", "==",
        "/=", "=<", ">=", "=:=", "=/=", "?=", "..", "...", "(", ")", "[", "]",
        "{", "}", ",", ";", ":", "|", "=", "+", "-", "*", "/", "<", ">", "!",
        "#", "?", ".", "<:-", "<:=", "&&",
    ],
    key=len,
    reverse=True,
)

ESCAPES = {
    "n": 10, "t": 9, "r": 13, "s": 32, "e": 27, "b": 8, "f": 12, "v": 11,
    "d": 127, "\\": 92, '"': 34, "'": 39,
}


class Tok:
    __slots__ = ("kind", "val", "line")

    def __init__(self, kind, val, line):
        self.kind = kind  # atom var int float string op dot
        self.val = val
        self.line = line

    def __repr__(self):
        return "%s:%r" % (self.kind, self.val)


class LexError(Exception):
    pass


def read_escape(s, i):
    """s[i] is the char after backslash. returns (codepoint, new_i)."""
    c = s[i]
    if c in "01234567":
        j = i
        while j < len(s) and j < i + 3 and s[j] in "01234567":
            j += 1
        return int(s[i:j], 8), j
    if c == "x":
        if s[i + 1] == "{":
            j = s.index("}", i)
            return int(s[i + 2:j], 16), j + 1
        return int(s[i + 1:i + 3], 16), i + 3
    if c == "^":
        return ord(s[i + 1]) & 31, i + 2
    if c in ESCAPES:
        return ESCAPES[c], i + 1
    return ord(c), i + 1


def lex(src, maybe_kw=False):
    toks = []
    i = 0
    n = len(src)
    line = 1
    kws = KEYWORDS | (MAYBE_KEYWORDS if maybe_kw else set())
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "%":
            while i < n and src[i] != "\n":
                i += 1
            continue
        if c.isdigit():
            m = re.match(r"(\d[\d_]*)#([0-9a-zA-Z_]+)", src[i:])
            if m:
                toks.append(Tok("int", int(m.group(2).replace("_", ""), int(m.group(1).replace("_", ""))), line))
                i += m.end()
                continue
            m = re.match(r"\d[\d_]*\.\d[\d_]*([eE][+-]?\d+)?", src[i:])
            if m:
                toks.append(Tok("float", float(m.group(0).replace("_", "")), line))
                i += m.end()
                continue
            m = re.match(r"\d[\d_]*", src[i:])
            toks.append(Tok("int", int(m.group(0).replace("_", "")), line))
            i += m.end()
            continue
        if c == "$":
            if src[i + 1] == "\\":
                cp, j = read_escape(src, i + 2)
                toks.append(Tok("int", cp, line))
                i = j
            else:
                toks.append(Tok("int", ord(src[i + 1]), line))
                i += 2
            continue
        if c.isalpha() and c.islower() or c == "\u00df":
            m = re.match(r"[a-zA-Z0-9_@]+", src[i:])
            w = m.group(0)
            i += m.end()
            if w in kws:
                toks.append(Tok("op", w, line))
            else:
                toks.append(Tok("atom", Atom(w), line))
            continue
        if c.isupper() or c == "_":
            m = re.match(r"[a-zA-Z0-9_@]+", src[i:])
            toks.append(Tok("var", m.group(0), line))
            i += m.end()
            continue
        if c == "'":
            j = i + 1
            buf = []
            while src[j] != "'":
                if src[j] == "\\":
                    cp, j = read_escape(src, j + 1)
                    buf.append(chr(cp))
                else:
                    if src[j] == "\n":
                        line += 1
                    buf.append(src[j])
                    j += 1
            toks.append(Tok("atom", Atom("".join(buf)), line))
            i = j + 1
            continue
        if c == "~" and i + 1 < n and (src[i + 1] == '"' or (src[i + 1] in "bBsS" and i + 2 < n and src[i + 2] == '"')):
            # OTP 27 sigils: ~"..." ~b"..." -> binary, ~s"..." -> string
            kind = "binary"
            j = i + 1
            if src[j] in "sS":
                kind = "string"
            if src[j] != '"':
                j += 1
            raw = src[i + 1] in "BS"  # ~B"..." / ~S"..." are verbatim
            s, j, line = lex_string(src, j, line, raw=raw)
            toks.append(Tok("sigil_bin" if kind == "binary" else "string", s, line))
            i = j
            continue
        if c == '"':
            s, i, line = lex_string(src, i, line)
            toks.append(Tok("string", s, line))
            continue
        if c == ".":
            if i + 1 >= n or src[i + 1] in " \t\r\n%":
                toks.append(Tok("dot", ".", line))
                i += 1
                continue
        for p in PUNCT:
            if src.startswith(p, i):
                toks.append(Tok("op", p, line))
                i += len(p)
                break
        else:
            raise LexError("bad char %r at line %d" % (c, line))
    return toks


def lex_string(src, i, line, raw=False):
    """src[i] == '"'.  Returns (python str, next index, line)."""
    if src.startswith('"""', i):
        # triple quoted string (OTP 27)
        j = src.index("\n", i)
        end = src.index('"""', j)
        # closing delimiter indentation
        k = src.rfind("\n", 0, end)
        indent = src[k + 1:end]
        body = src[j + 1:k] if k > j else ""
        lines = body.split("\n")
        out = "\n".join(l[len(indent):] if l.startswith(indent) else l.lstrip() for l in lines)
        line += src.count("\n", i, end + 3)
        return out, end + 3, line
    j = i + 1
    buf = []
    while src[j] != '"':
        if src[j] == "\\" and not raw:
            cp, j = read_escape(src, j + 1)
            buf.append(chr(cp))
        else:
            if src[j] == "\n":
                line += 1
            buf.append(src[j])
            j += 1
    return "".join(buf), j + 1, line


# ---------------------------------------------------------------------------
# Preprocessor
# ---------------------------------------------------------------------------

# Headers of the two external dependencies the schema modules include
# (hocon's hoconsc.hrl / hocon_types.hrl / hocon.hrl, typerefl's types.hrl),
# read from their own repositories at the tags the emqx tag pins in its
# rebar.config (--hocon-git and --typerefl-git: bare git dirs, as `fetch`
# returns them). Nothing of theirs is copied here.
EXTERNAL_REPOS = {"hocon": None, "typerefl": None}  # name -> (git_dir, tag)
EXTERNAL_CACHE = {}


def pinned_tag(git_dir, tag, dep):
    """The tag of `dep` in the emqx tag's rebar.config."""
    text = subprocess.run(
        ["git", "--git-dir", git_dir, "show", "%s:rebar.config" % tag],
        check=True, capture_output=True, text=True,
    ).stdout
    m = re.search(r"\{%s,\s*\{git,\s*\"[^\"]+\",\s*\{tag,\s*\"([^\"]+)\"\}" % dep, text)
    if not m:
        sys.exit("cannot find the %s tag in %s:rebar.config" % (dep, tag))
    return m.group(1)


def external_header(name):
    """The text of `hocon/include/x.hrl` or `typerefl/include/x.hrl`."""
    if name not in EXTERNAL_CACHE:
        dep, _, path = name.partition("/")
        git_dir, tag = EXTERNAL_REPOS[dep]
        EXTERNAL_CACHE[name] = subprocess.run(
            ["git", "--git-dir", git_dir, "show", "%s:%s" % (tag, path)],
            check=True, capture_output=True,
        ).stdout.decode("utf-8", "replace")
    return EXTERNAL_CACHE[name]


def is_external_header(name):
    dep, _, path = name.partition("/")
    return dep in EXTERNAL_REPOS and path.startswith("include/") and path.endswith(".hrl")


class Macro:
    def __init__(self, params, body):
        self.params = params  # None for object-like
        self.body = body


class PPError(Exception):
    pass


class Source:
    """Access to files of one tag of the emqx git dir."""

    def __init__(self, git_dir, tag):
        self.git_dir = git_dir
        self.tag = tag
        out = subprocess.run(
            ["git", "--git-dir", git_dir, "ls-tree", "-r", "--name-only", tag],
            check=True, capture_output=True, text=True,
        ).stdout
        self.files = set(out.split("\n")) - {""}
        self.cache = {}
        self.modules = {}
        for p in sorted(self.files):
            if p.endswith(".erl") and p.startswith("apps/") and "/test/" not in p:
                m = os.path.basename(p)[:-4]
                self.modules.setdefault(m, p)
        self.commit = subprocess.run(
            ["git", "--git-dir", git_dir, "rev-list", "-n1", tag],
            check=True, capture_output=True, text=True,
        ).stdout.strip()

    def read(self, path):
        if path not in self.cache:
            self.cache[path] = subprocess.run(
                ["git", "--git-dir", self.git_dir, "show", "%s:%s" % (self.tag, path)],
                check=True, capture_output=True,
            ).stdout.decode("utf-8", "replace")
        return self.cache[path]

    def resolve_include(self, name, from_path, lib):
        if lib:
            if is_external_header(name):
                return ("ext", name)
            parts = name.split("/", 1)
            cand = "apps/%s" % name
            if cand in self.files:
                return ("repo", cand)
            if parts[0] in ("kernel", "stdlib", "snabbkaffe", "public_key", "ssl", "gproc", "emqtt", "ekka", "mria", "brod", "erlcloud", "esockd", "hocon", "typerefl", "quicer", "eunit", "common_test", "opentelemetry_api", "opentelemetry", "minirest", "jose", "grpc", "prometheus", "ehttpc", "ecpool", "emqx_ds_builtin_raft", "xmerl", "gen_rpc"):
                return None
            # last resort: basename anywhere in include dirs
            base = os.path.basename(name)
            for f in sorted(self.files):
                if f.startswith("apps/") and f.endswith("/include/" + base):
                    return ("repo", f)
            return None
        d = os.path.dirname(from_path)
        cands = [os.path.normpath(os.path.join(d, name))]
        # app root
        parts = from_path.split("/")
        if len(parts) > 2 and parts[0] == "apps":
            app = "apps/" + parts[1]
            cands += [app + "/include/" + name, app + "/src/" + name]
        cands.append(os.path.normpath(os.path.join(d, "..", "include", name)))
        for c in cands:
            if c in self.files:
                return ("repo", c)
        base = os.path.basename(name)
        for f in sorted(self.files):
            if f.startswith("apps/") and "/test/" not in f and f.endswith("/" + base):
                return ("repo", f)
        return None


def split_forms(toks):
    forms = []
    cur = []
    for t in toks:
        if t.kind == "dot":
            forms.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur:
        forms.append(cur)
    return forms


OPENERS = {"(": ")", "[": "]", "{": "}", "<<": ">>"}
BLOCK_OPEN = {"begin", "case", "if", "receive", "try", "maybe"}


class Preprocessor:
    def __init__(self, src, defines, warnings):
        self.src = src
        self.macros = {}
        for k, v in defines.items():
            self.macros[(k, None)] = Macro(None, lex(v))
        self.warnings = warnings
        self.module = None
        self.included = set()
        self.maybe_kw = False

    def run(self, path):
        text = self.src.read(path)
        self.maybe_kw = "-feature(maybe_expr, enable)" in text
        out_forms = []
        self.process_text(text, path, out_forms, [])
        return out_forms

    def process_text(self, text, path, out_forms, cond_stack):
        toks = lex(text, self.maybe_kw)
        for form in split_forms(toks):
            self.process_form(form, path, out_forms, cond_stack)

    def active(self, cond_stack):
        return all(c[0] for c in cond_stack)

    def process_form(self, form, path, out_forms, cond_stack):
        if not form:
            return
        if form[0].kind == "op" and form[0].val == "-" and len(form) > 1 and form[1].kind in ("atom", "op"):
            d = str(form[1].val)
            if d in ("ifdef", "ifndef"):
                if not self.active(cond_stack):
                    cond_stack.append([False, True])
                    return
                name = str(form[3].val)
                defined = any(k[0] == name for k in self.macros)
                v = defined if d == "ifdef" else not defined
                cond_stack.append([v, v])
                return
            if d == "if":
                if not self.active(cond_stack):
                    cond_stack.append([False, True])
                    return
                v = self.eval_cond(form[3:-1])
                cond_stack.append([v, v])
                return
            if d == "elif":
                top = cond_stack[-1]
                if top[1]:
                    top[0] = False
                else:
                    outer = all(c[0] for c in cond_stack[:-1])
                    v = outer and self.eval_cond(form[3:-1])
                    top[0] = v
                    top[1] = v
                return
            if d == "else":
                top = cond_stack[-1]
                top[0] = not top[1]
                top[1] = True
                return
            if d == "endif":
                cond_stack.pop()
                return
            if not self.active(cond_stack):
                return
            if d == "define":
                self.define(form)
                return
            if d == "undef":
                name = str(form[3].val)
                for k in list(self.macros):
                    if k[0] == name:
                        del self.macros[k]
                return
            if d in ("include", "include_lib"):
                name = form[3].val
                r = self.src.resolve_include(name, path, d == "include_lib")
                if r is None and d == "include_lib":
                    r = self.src.resolve_include(os.path.basename(name), path, False)
                if r is None:
                    self.warnings.add("include not found: %s (from %s)" % (name, path))
                    return
                if r in self.included:
                    # include guards usually handle this, but be safe
                    pass
                self.included.add(r)
                text = external_header(r[1]) if r[0] == "ext" else self.src.read(r[1])
                self.process_text(text, r[1] if r[0] == "repo" else path, out_forms, cond_stack)
                return
            if d == "module":
                self.module = str(form[3].val)
        if not self.active(cond_stack):
            return
        out_forms.append(self.expand(form, form))

    def define(self, form):
        # -define(NAME, Body). | -define(NAME(P1,..), Body).
        i = 3
        name = str(form[i].val)
        i += 1
        params = None
        if form[i].kind == "op" and form[i].val == "(":
            params = []
            i += 1
            while not (form[i].kind == "op" and form[i].val == ")"):
                if form[i].kind == "var":
                    params.append(form[i].val)
                i += 1
            i += 1
        # skip ','
        assert form[i].val == ",", form[i]
        body = form[i + 1:-1]  # drop closing ')'
        self.macros[(name, None if params is None else len(params))] = Macro(params, body)

    def eval_cond(self, toks):
        toks = self.expand(toks, toks)
        p = Parser(toks)
        e = p.parse_expr()
        try:
            v = Interp.const_eval(e)
        except Exception as ex:  # noqa
            self.warnings.add("could not evaluate -if condition: %r" % (ex,))
            return False
        return v == TRUE

    def collect_args(self, toks, i):
        """toks[i] is '('. returns (list of token lists, index after ')')."""
        depth = 0
        args = []
        cur = []
        i += 1
        stack = []
        while True:
            t = toks[i]
            if t.kind == "op":
                v = t.val
                if v in OPENERS or v in BLOCK_OPEN or (v == "fun" and i + 1 < len(toks) and toks[i + 1].kind == "op" and toks[i + 1].val == "("):
                    stack.append(v)
                elif v in (")", "]", "}", ">>", "end"):
                    if not stack:
                        if v == ")":
                            args.append(cur)
                            return args, i + 1
                    else:
                        stack.pop()
                elif v == "," and not stack:
                    args.append(cur)
                    cur = []
                    i += 1
                    continue
            cur.append(t)
            i += 1

    def expand(self, toks, form, depth=0):
        if depth > 50:
            raise PPError("macro recursion")
        out = []
        i = 0
        n = len(toks)
        while i < n:
            t = toks[i]
            if t.kind == "op" and t.val == "?" and i + 1 < n and toks[i + 1].kind in ("atom", "var", "op"):
                if toks[i + 1].kind == "op" and toks[i + 1].val == "?":
                    # ??Arg stringify is handled during substitution
                    out.append(t)
                    i += 1
                    continue
                name = str(toks[i + 1].val)
                line = t.line
                j = i + 2
                if name == "MODULE":
                    out.append(Tok("atom", Atom(self.module or ""), line))
                    i = j
                    continue
                if name == "MODULE_STRING":
                    out.append(Tok("string", self.module or "", line))
                    i = j
                    continue
                if name in ("LINE",):
                    out.append(Tok("int", line, line))
                    i = j
                    continue
                if name == "FILE":
                    out.append(Tok("string", "file", line))
                    i = j
                    continue
                if name == "FUNCTION_NAME":
                    out.append(Tok("atom", Atom(form[0].val) if form and form[0].kind == "atom" else Atom("undefined"), line))
                    i = j
                    continue
                if name == "FUNCTION_ARITY":
                    out.append(Tok("int", 0, line))
                    i = j
                    continue
                if name == "OTP_RELEASE":
                    out.append(Tok("int", 26, line))
                    i = j
                    continue
                has_args = j < n and toks[j].kind == "op" and toks[j].val == "("
                args = None
                if has_args:
                    args, j2 = self.collect_args(toks, j)
                    if len(args) == 1 and not args[0]:
                        args = []
                    m = self.macros.get((name, len(args)))
                    if m is None:
                        m = self.macros.get((name, None))
                        if m is not None:
                            # object-like macro followed by '(' : keep args
                            out.extend(self.expand(m.body, form, depth + 1))
                            i = j
                            continue
                    else:
                        i = j2
                else:
                    m = self.macros.get((name, None))
                    if m is None:
                        m0 = self.macros.get((name, 0))
                        if m0 is not None:
                            m = m0
                            args = []
                    i = j
                if m is None:
                    self.warnings.add("undefined macro ?%s in %s" % (name, self.module))
                    # becomes the atom '$undefined_macro' (a call to it if it had
                    # arguments); evaluating it returns ok
                    out.append(Tok("atom", Atom("$undefined_macro"), line))
                    if has_args:
                        i = j  # re-emit the args as a call
                    continue
                body = m.body
                if m.params:
                    sub = []
                    k = 0
                    while k < len(body):
                        bt = body[k]
                        if bt.kind == "op" and bt.val == "?" and k + 2 < len(body) and body[k + 1].kind == "op" and body[k + 1].val == "?" and body[k + 2].kind == "var" and body[k + 2].val in m.params:
                            arg = args[m.params.index(body[k + 2].val)]
                            sub.append(Tok("string", " ".join(str(a.val) for a in arg), line))
                            k += 3
                            continue
                        if bt.kind == "var" and bt.val in m.params:
                            sub.extend(args[m.params.index(bt.val)])
                        else:
                            sub.append(bt)
                        k += 1
                    body = sub
                out.extend(self.expand(body, form, depth + 1))
                continue
            out.append(t)
            i += 1
        return out


# ---------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------


class ParseError(Exception):
    pass


BINOPS = {
    "orelse": (1, "left"),
    "andalso": (2, "left"),
    "==": (3, "non"), "/=": (3, "non"), "=<": (3, "non"), "<": (3, "non"),
    ">=": (3, "non"), ">": (3, "non"), "=:=": (3, "non"), "=/=": (3, "non"),
    "++": (4, "right"), "--": (4, "right"),
    "+": (5, "left"), "-": (5, "left"), "bor": (5, "left"), "bxor": (5, "left"),
    "bsl": (5, "left"), "bsr": (5, "left"), "or": (5, "left"), "xor": (5, "left"),
    "/": (6, "left"), "*": (6, "left"), "div": (6, "left"), "rem": (6, "left"),
    "band": (6, "left"), "and": (6, "left"),
}


class Parser:
    def __init__(self, toks):
        self.toks = toks
        self.i = 0

    def peek(self, k=0):
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else Tok("eof", None, -1)

    def is_op(self, v, k=0):
        t = self.peek(k)
        return t.kind == "op" and t.val == v

    def next(self):
        t = self.peek()
        self.i += 1
        return t

    def expect(self, v):
        t = self.next()
        if not (t.kind == "op" and t.val == v):
            raise ParseError("expected %r got %r at line %s" % (v, t, t.line))
        return t

    # -- expressions --
    def parse_exprs(self):
        es = [self.parse_expr()]
        while self.is_op(","):
            self.next()
            es.append(self.parse_expr())
        return es

    def parse_expr(self):
        if self.is_op("catch"):
            self.next()
            return ("catch", self.parse_expr())
        lhs = self.parse_binop(1)
        if self.is_op("="):
            self.next()
            return ("match", lhs, self.parse_expr())
        if self.is_op("?="):
            self.next()
            return ("maybe_match", lhs, self.parse_expr())
        if self.is_op("!"):
            self.next()
            return ("send", lhs, self.parse_expr())
        return lhs

    def parse_binop(self, minprec):
        lhs = self.parse_unary()
        while True:
            t = self.peek()
            if t.kind != "op" or t.val not in BINOPS:
                return lhs
            prec, assoc = BINOPS[t.val]
            if prec < minprec:
                return lhs
            self.next()
            if assoc == "right":
                rhs = self.parse_binop(prec)
            else:
                rhs = self.parse_binop(prec + 1)
            if t.val == "andalso":
                lhs = ("andalso", lhs, rhs)
            elif t.val == "orelse":
                lhs = ("orelse", lhs, rhs)
            else:
                lhs = ("op", t.val, lhs, rhs)

    def parse_unary(self):
        t = self.peek()
        if t.kind == "op" and t.val in ("-", "+", "bnot", "not"):
            self.next()
            e = self.parse_unary()
            if t.val == "-" and e[0] == "lit" and type(e[1]) in (int, float):
                return ("lit", -e[1])
            return ("unop", t.val, e)
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, e, allow_colon=True):
        while True:
            if self.is_op("#"):
                self.next()
                if self.is_op("{"):
                    e = ("map", e, self.parse_map_body())
                else:
                    name = self.next().val
                    if self.is_op("."):
                        self.next()
                        f = self.next().val
                        e = ("recidx", e, name, f)
                    else:
                        e = ("rec", e, name, self.parse_rec_body())
            elif self.is_op("("):
                args = self.parse_args()
                e = ("call", e, args)
            elif self.is_op(":") and allow_colon:
                self.next()
                f = self.parse_primary()
                if self.is_op("("):
                    args = self.parse_args()
                    e = ("rcall", e, f, args)
                else:
                    e = ("colon", e, f)
            else:
                return e

    def parse_args(self):
        self.expect("(")
        if self.is_op(")"):
            self.next()
            return []
        args = self.parse_exprs()
        self.expect(")")
        return args

    def parse_map_body(self):
        self.expect("{")
        pairs = []
        if self.is_op("}"):
            self.next()
            return pairs
        while True:
            k = self.parse_expr()
            op = self.next().val
            if op not in ("=>", ":="):
                raise ParseError("bad map assoc %r" % op)
            v = self.parse_expr()
            pairs.append((op, k, v))
            if self.is_op(","):
                self.next()
                continue
            if self.is_op("||"):
                raise ParseError("map comprehension with several pairs")
            self.expect("}")
            return pairs

    def parse_rec_body(self):
        self.expect("{")
        fields = []
        if self.is_op("}"):
            self.next()
            return fields
        while True:
            name = self.next()
            self.expect("=")
            v = self.parse_expr()
            fields.append((str(name.val), v))
            if self.is_op(","):
                self.next()
                continue
            self.expect("}")
            return fields

    def parse_primary(self):
        t = self.next()
        k = t.kind
        if k == "atom":
            return ("lit", t.val)
        if k == "var":
            return ("var", t.val)
        if k in ("int", "float"):
            return ("lit", t.val)
        if k == "string":
            s = t.val
            while self.peek().kind == "string":
                s += self.next().val
            return ("lit", estr(s))
        if k == "sigil_bin":
            return ("lit", t.val.encode("utf-8"))
        if k != "op":
            raise ParseError("unexpected %r at line %s" % (t, t.line))
        v = t.val
        if v == "(":
            e = self.parse_expr()
            self.expect(")")
            return ("paren", e)
        if v == "{":
            if self.is_op("}"):
                self.next()
                return ("tuple", [])
            es = self.parse_exprs()
            self.expect("}")
            return ("tuple", es)
        if v == "[":
            if self.is_op("]"):
                self.next()
                return ("lit", NIL)
            first = self.parse_expr()
            if self.is_op("||"):
                self.next()
                quals = self.parse_quals()
                self.expect("]")
                return ("lc", first, quals)
            es = [first]
            tail = None
            while self.is_op(","):
                self.next()
                es.append(self.parse_expr())
            if self.is_op("|"):
                self.next()
                tail = self.parse_expr()
            self.expect("]")
            return ("list", es, tail)
        if v == "<<":
            return self.parse_binary()
        if v == "#":
            if self.is_op("{"):
                # map or map comprehension
                save = self.i
                self.next()
                if self.is_op("}"):
                    self.next()
                    return ("map", None, [])
                k1 = self.parse_expr()
                if self.is_op("=>"):
                    self.next()
                    v1 = self.parse_expr()
                    if self.is_op("||"):
                        self.next()
                        quals = self.parse_quals()
                        self.expect("}")
                        return ("mc", k1, v1, quals)
                self.i = save
                return ("map", None, self.parse_map_body())
            name = self.next().val
            if self.is_op("."):
                self.next()
                f = self.next().val
                return ("recfield_index", name, f)
            return ("rec", None, name, self.parse_rec_body())
        if v == "fun":
            return self.parse_fun()
        if v == "case":
            e = self.parse_expr()
            self.expect("of")
            clauses = self.parse_clauses()
            self.expect("end")
            return ("case", e, clauses)
        if v == "if":
            clauses = []
            while True:
                g = self.parse_guard_seq()
                self.expect("->")
                body = self.parse_exprs()
                clauses.append(([], g, body))
                if self.is_op(";"):
                    self.next()
                    continue
                break
            self.expect("end")
            return ("if", clauses)
        if v == "begin":
            body = self.parse_exprs()
            self.expect("end")
            return ("block", body)
        if v == "maybe":
            body = self.parse_exprs()
            else_clauses = []
            if self.is_op("else"):
                self.next()
                else_clauses = self.parse_clauses()
            self.expect("end")
            return ("maybe", body, else_clauses)
        if v == "try":
            body = self.parse_exprs()
            of_clauses = []
            catch_clauses = []
            after = []
            if self.is_op("of"):
                self.next()
                of_clauses = self.parse_clauses()
            if self.is_op("catch"):
                self.next()
                catch_clauses = self.parse_clauses()
            if self.is_op("after"):
                self.next()
                after = self.parse_exprs()
            self.expect("end")
            return ("try", body, of_clauses, catch_clauses, after)
        if v == "receive":
            clauses = []
            if not self.is_op("after"):
                clauses = self.parse_clauses()
            after = None
            if self.is_op("after"):
                self.next()
                tmo = self.parse_expr()
                self.expect("->")
                after = (tmo, self.parse_exprs())
            self.expect("end")
            return ("receive", clauses, after)
        if v == "?":
            raise ParseError("unexpanded macro at line %s" % t.line)
        raise ParseError("unexpected %r at line %s" % (t, t.line))

    def parse_binary(self):
        segs = []
        if self.is_op(">>"):
            self.next()
            return ("bin", segs)
        first = True
        while True:
            val = self.parse_bin_value()
            if first and self.is_op("||"):
                self.next()
                quals = self.parse_quals()
                self.expect(">>")
                return ("bc", val, quals)
            first = False
            size = None
            types = []
            if self.is_op(":"):
                self.next()
                size = self.parse_bin_value()
            if self.is_op("/"):
                self.next()
                while True:
                    ty = self.next().val
                    if self.is_op(":"):
                        self.next()
                        ty = (ty, self.next().val)
                    types.append(ty)
                    if self.is_op("-"):
                        self.next()
                        continue
                    break
            segs.append((val, size, types))
            if self.is_op(","):
                self.next()
                continue
            self.expect(">>")
            return ("bin", segs)

    def parse_bin_value(self):
        t = self.peek()
        if t.kind == "op" and t.val in ("-", "+", "bnot"):
            self.next()
            return ("unop", t.val, self.parse_bin_value())
        e = self.parse_primary()
        # allow map/record postfix and calls but not ':' (segment size)
        return self.parse_postfix(e, allow_colon=False)

    def parse_quals(self):
        quals = []
        while True:
            e = self.parse_expr()
            if self.is_op("<-") or self.is_op("<:-"):
                self.next()
                quals.append(("gen", e, self.parse_expr()))
            elif self.is_op("<=") or self.is_op("<:="):
                self.next()
                quals.append(("bgen", e, self.parse_expr()))
            elif self.is_op(":="):
                self.next()
                vpat = self.parse_expr()
                if not (self.is_op("<-") or self.is_op("<:-")):
                    raise ParseError("bad map generator")
                self.next()
                quals.append(("mgen", e, vpat, self.parse_expr()))
            else:
                quals.append(("filter", e))
            if self.is_op(","):
                self.next()
                continue
            return quals

    def parse_fun(self):
        # fun name/arity | fun M:F/A | fun (..) -> .. end | fun Name(..) -> .. end
        t0 = self.peek()
        t1 = self.peek(1)
        if t0.kind in ("atom", "var") and t1.kind == "op" and t1.val in ("/", ":"):
            if t1.val == "/":
                self.next()
                self.next()
                a = self.next()
                return ("funref", None, ("lit", t0.val), ("lit", a.val) if a.kind == "int" else ("var", a.val))
            m = self.parse_primary()
            self.expect(":")
            f = self.parse_primary()
            self.expect("/")
            a = self.parse_primary()
            return ("funref", m, f, a)
        name = None
        clauses = []
        while True:
            if self.peek().kind == "var" and self.is_op("(", 1):
                name = self.next().val
            args = self.parse_args()
            g = []
            if self.is_op("when"):
                self.next()
                g = self.parse_guard_seq()
            self.expect("->")
            body = self.parse_exprs()
            clauses.append((args, g, body))
            if self.is_op(";"):
                self.next()
                continue
            break
        self.expect("end")
        return ("fun", clauses, name)

    def parse_guard_seq(self):
        guards = [self.parse_exprs()]
        while self.is_op(";"):
            self.next()
            guards.append(self.parse_exprs())
        return guards

    def parse_clauses(self):
        clauses = []
        while True:
            pat = self.parse_expr()
            g = []
            if self.is_op("when"):
                self.next()
                g = self.parse_guard_seq()
            self.expect("->")
            body = self.parse_exprs()
            clauses.append(([pat], g, body))
            if self.is_op(";"):
                self.next()
                continue
            return clauses

    # -- function forms --
    def parse_function(self):
        name = None
        clauses = []
        while True:
            t = self.next()
            if t.kind != "atom":
                raise ParseError("function name expected, got %r at %s" % (t, t.line))
            if name is None:
                name = t.val
            args = self.parse_args()
            g = []
            if self.is_op("when"):
                self.next()
                g = self.parse_guard_seq()
            self.expect("->")
            body = self.parse_exprs()
            clauses.append((args, g, body))
            if self.is_op(";"):
                self.next()
                continue
            break
        if self.peek().kind != "eof":
            raise ParseError("trailing tokens in function %s: %r" % (name, self.peek()))
        return name, clauses


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------


class Module:
    def __init__(self, name):
        self.name = name
        self.funcs = {}  # (name, arity) -> clauses
        self.exports = set()
        self.export_all = False
        self.imports = {}  # (name, arity) -> module
        self.records = {}  # name -> [(field, default_ast)]
        self.types = {}  # (name, arity) -> True if the type is a map type
        self.broken = {}  # (name, arity?) -> error text
        self.attributes = []  # (name, expr ast) of custom attributes


def count_top_args(toks, i):
    """toks[i] == '('; count top-level comma separated args."""
    depth = 0
    n = 0
    nonempty = False
    j = i
    while j < len(toks):
        t = toks[j]
        if t.kind == "op" and t.val in ("(", "[", "{", "<<"):
            depth += 1
            if depth == 1:
                j += 1
                continue
        elif t.kind == "op" and t.val in (")", "]", "}", ">>"):
            depth -= 1
            if depth == 0:
                return n + (1 if nonempty else 0)
        elif t.kind == "op" and t.val == "," and depth == 1:
            n += 1
            j += 1
            continue
        if depth >= 1:
            nonempty = True
        j += 1
    return n


def load_module(src, modname, defines, warnings):
    path = src.modules.get(modname)
    if path is None:
        return None
    pp = Preprocessor(src, defines, warnings)
    forms = pp.run(path)
    mod = Module(modname)
    for form in forms:
        if not form:
            continue
        t0 = form[0]
        if t0.kind == "op" and t0.val == "-":
            attr = str(form[1].val)
            if attr == "export":
                mod.exports |= parse_fa_list(form)
            elif attr == "import":
                imod = form[3].val
                for fa in parse_fa_list(form):
                    mod.imports[fa] = imod
            elif attr == "compile":
                if any(t.kind == "atom" and str(t.val) == "export_all" for t in form):
                    mod.export_all = True
            elif attr == "record":
                try:
                    parse_record(form, mod)
                except ParseError as e:
                    warnings.add("record in %s: %s" % (modname, e))
            elif attr not in KNOWN_ATTRS and len(form) > 3 and form[2].kind == "op" and form[2].val == "(":
                try:
                    p = Parser(form[3:-1])
                    mod.attributes.append((attr, p.parse_expr()))
                except (ParseError, IndexError):
                    pass
            elif attr in ("type", "opaque"):
                j = 2
                if form[j].kind == "op" and form[j].val == "(":
                    j += 1
                tname = form[j].val
                ar = count_top_args(form, j + 1) if j + 1 < len(form) and form[j + 1].kind == "op" and form[j + 1].val == "(" else 0
                body = [k for k, t in enumerate(form) if t.kind == "op" and t.val == "::"]
                is_map = bool(body) and body[0] + 1 < len(form) and (
                    (form[body[0] + 1].kind == "op" and form[body[0] + 1].val == "#")
                    or (form[body[0] + 1].kind == "atom" and form[body[0] + 1].val == "map"))
                mod.types[(str(tname), ar)] = is_map
            continue
        try:
            p = Parser(form)
            name, clauses = p.parse_function()
            key = (str(name), len(clauses[0][0]))
            if key in mod.funcs:
                mod.funcs[key] = mod.funcs[key] + clauses
            else:
                mod.funcs[key] = clauses
        except (ParseError, IndexError, KeyError) as e:
            fname = str(t0.val) if t0.kind == "atom" else "?"
            ar = count_top_args(form, 1) if len(form) > 1 and form[1].kind == "op" and form[1].val == "(" else -1
            mod.broken[(fname, ar)] = str(e)
    return mod


KNOWN_ATTRS = {
    "export", "import", "compile", "record", "type", "opaque", "spec", "callback",
    "module", "behaviour", "behavior", "dialyzer", "elvis", "feature", "export_type",
    "define", "include", "include_lib", "ifdef", "ifndef", "else", "endif", "if", "elif",
    "undef", "on_load", "optional_callbacks", "file", "nifs", "deprecated", "doc",
    "moduledoc", "typerefl_from_string", "reflect_type", "typerefl_surrogate", "vsn",
    "author", "ignore_xref", "hank",
}


def parse_fa_list(form):
    out = set()
    toks = form
    for i in range(len(toks) - 2):
        if toks[i].kind == "atom" and toks[i + 1].kind == "op" and toks[i + 1].val == "/" and toks[i + 2].kind == "int":
            out.add((str(toks[i].val), toks[i + 2].val))
    return out


def parse_record(form, mod):
    # -record(name, {f1 = D :: T, f2 :: T, f3}).
    name = str(form[3].val)
    p = Parser(form)
    p.i = 5
    p.expect("{")
    fields = []
    while not p.is_op("}"):
        f = str(p.next().val)
        default = None
        if p.is_op("="):
            p.next()
            default = p.parse_expr()
        if p.is_op("::"):
            p.next()
            depth = 0
            while True:
                t = p.peek()
                if t.kind == "op" and t.val in ("(", "[", "{", "<<"):
                    depth += 1
                elif t.kind == "op" and t.val in (")", "]", ">>"):
                    depth -= 1
                elif t.kind == "op" and t.val == "}":
                    if depth == 0:
                        break
                    depth -= 1
                elif t.kind == "op" and t.val == "," and depth == 0:
                    break
                p.next()
        fields.append((f, default))
        if p.is_op(","):
            p.next()
    mod.records[name] = fields


# ---------------------------------------------------------------------------
# Interpreter
# ---------------------------------------------------------------------------


class MatchFail(Exception):
    pass


class Interp:
    def __init__(self, src, edition, warnings):
        self.src = src
        self.edition = edition
        self.warnings = warnings
        self.modules = {}
        self.defines = {
            "EMQX_RELEASE_EDITION": edition,
            "EMQX_FLAVOR": "official",
            "snk_kind": "msg",
        }
        self.pterm = {}
        self.pdict = {}
        self.unknown_calls = defaultdict(int)
        self.depth = 0
        from_builtins(self)

    # -- module loading --
    def module(self, name):
        name = str(name)
        if name not in self.modules:
            self.modules[name] = load_module(self.src, name, self.defines, self.warnings)
        return self.modules[name]

    def exported(self, m, f, a):
        if (str(m), str(f)) in self.py_mfa or (str(m), str(f), a) in self.py_mfa:
            return True
        mod = self.module(m)
        if mod is None:
            return False
        key = (str(f), a)
        return key in mod.funcs and (mod.export_all or key in mod.exports)

    # -- calls --
    def call_mfa(self, m, f, args):
        m = str(m)
        f = str(f)
        fn = self.py_mfa.get((m, f, len(args))) or self.py_mfa.get((m, f))
        if fn is not None:
            return fn(*args)
        mod = self.module(m)
        if mod is not None:
            if f == "module_info":
                return self.module_info(mod, args)
            return self.call_local(mod, f, args, remote=True)
        if m == "typerefl":
            return type_term(f, args)
        self.unknown_calls["%s:%s/%d" % (m, f, len(args))] += 1
        raise undef(m, f, args)

    def module_info(self, mod, args):
        what = str(args[0]) if args else "all"
        if what == "exports":
            fas = sorted(fa for fa in mod.funcs if mod.export_all or fa in mod.exports)
            return EList([ETuple((Atom(f), a)) for f, a in fas] + [ETuple((Atom("module_info"), 0)), ETuple((Atom("module_info"), 1))])
        if what == "attributes":
            out = []
            for name, ast in mod.attributes:
                v = self.ev(ast, {}, mod)
                out.append(ETuple((Atom(name), v if type(v) is EList else EList([v]))))
            return EList(out)
        if what == "module":
            return Atom(mod.name)
        return NIL

    def call_local(self, mod, f, args, remote=False):
        key = (f, len(args))
        clauses = mod.funcs.get(key)
        if remote and clauses is not None and not (mod.export_all or key in mod.exports):
            # calling a function that is not exported fails like in Erlang
            self.unknown_calls["%s:%s/%d (not exported)" % (mod.name, f, len(args))] += 1
            raise undef(mod.name, f, args)
        if clauses is None:
            if not remote and key in mod.imports:
                return self.call_mfa(mod.imports[key], f, args)
            if key in mod.broken or (f, -1) in mod.broken:
                raise ErlError(Atom("error"), ETuple((Atom("unparsed_function"), Atom(mod.name), Atom(f), len(args))),
                               mod.broken.get(key, mod.broken.get((f, -1))))
            if not remote:
                fn = self.py_mfa.get(("erlang", f, len(args))) or self.py_mfa.get(("erlang", f))
                if fn is not None and (f, len(args)) in AUTO_IMPORTED:
                    return fn(*args)
            if key in mod.types:
                return type_term("map" if mod.types[key] else f, args, mod.name)
            if not remote and (f, len(args)) in TYPEREFL_LOCAL:
                return type_term(f, args, mod.name)
            if f == "$undefined_macro":
                return OK
            self.unknown_calls["%s:%s/%d" % (mod.name, f, len(args))] += 1
            raise undef(mod.name, f, args)
        return self.apply_clauses(mod, clauses, args, {}, "%s:%s/%d" % (mod.name, f, len(args)))

    def apply_clauses(self, mod, clauses, args, env0, what):
        self.depth += 1
        if self.depth > 3000:
            self.depth = 0
            raise ErlError(Atom("error"), Atom("recursion_too_deep"))
        try:
            for pats, guards, body in clauses:
                env = dict(env0)
                try:
                    for p, a in zip(pats, args):
                        self.match(p, a, env, mod)
                except MatchFail:
                    continue
                if guards and not self.guard_ok(guards, env, mod):
                    continue
                return self.eval_body(body, env, mod)
            raise ErlError(Atom("error"), ETuple((Atom("function_clause"), Atom(what))), repr(args)[:300])
        except ErlError as ex:
            if not hasattr(ex, "etrace"):
                ex.etrace = []
            if len(ex.etrace) < 40:
                ex.etrace.append(what)
            raise
        finally:
            self.depth -= 1

    def apply_fun(self, fv, args):
        if isinstance(fv, Fun):
            if len(args) != fv.arity:
                erl_error(ETuple((Atom("badarity"), fv)))
            env = dict(fv.env)
            if fv.name:
                env[fv.name] = fv
            return self.apply_clauses(fv.mod, fv.clauses, args, env, "fun in %s" % fv.mod.name)
        if isinstance(fv, ExtFun):
            return self.call_mfa(fv.m, fv.f, list(args))
        if isinstance(fv, PyFun):
            return fv.fn(*args)
        if isinstance(fv, ETuple) and len(fv) == 2:
            return self.call_mfa(fv[0], fv[1], list(args))
        erl_error(ETuple((Atom("badfun"), fv)))

    def guard_ok(self, guards, env, mod):
        for g in guards:
            ok = True
            for e in g:
                try:
                    v = self.ev(e, dict(env), mod)
                except ErlError:
                    ok = False
                    break
                if v != TRUE:
                    ok = False
                    break
            if ok:
                return True
        return False

    def eval_body(self, body, env, mod):
        v = None
        for e in body:
            v = self.ev(e, env, mod)
        return v

    # -- pattern matching --
    def match(self, p, v, env, mod):
        k = p[0]
        if k == "var":
            n = p[1]
            if n == "_":
                return
            if n in env:
                if not exact_eq(env[n], v):
                    raise MatchFail()
                return
            env[n] = v
            return
        if k == "lit":
            if not exact_eq(p[1], v):
                raise MatchFail()
            return
        if k == "paren":
            return self.match(p[1], v, env, mod)
        if k == "tuple":
            if type(v) is not ETuple or len(v) != len(p[1]):
                raise MatchFail()
            for sp, sv in zip(p[1], v):
                self.match(sp, sv, env, mod)
            return
        if k == "list":
            es, tail = p[1], p[2]
            if isinstance(v, Improper):
                if len(v.heads) < len(es):
                    raise MatchFail()
                for sp, sv in zip(es, v.heads):
                    self.match(sp, sv, env, mod)
                rest_heads = v.heads[len(es):]
                rest = Improper(rest_heads, v.tail) if rest_heads else v.tail
                if tail is None:
                    raise MatchFail()
                return self.match(tail, rest, env, mod)
            if type(v) is not EList or len(v) < len(es):
                raise MatchFail()
            if tail is None and len(v) != len(es):
                raise MatchFail()
            for sp, sv in zip(es, v):
                self.match(sp, sv, env, mod)
            if tail is not None:
                self.match(tail, EList(v[len(es):]), env, mod)
            return
        if k == "match":
            self.match(p[1], v, env, mod)
            self.match(p[2], v, env, mod)
            return
        if k == "map":
            if type(v) is not EMap:
                raise MatchFail()
            for op, kp, vp in p[2]:
                key = self.ev(kp, dict(env), mod)
                if key not in v:
                    raise MatchFail()
                self.match(vp, v[key], env, mod)
            return
        if k == "op" and p[1] == "++":
            prefix = self.ev(p[2], dict(env), mod)
            if type(v) is not EList or len(v) < len(prefix) or EList(v[:len(prefix)]) != prefix:
                raise MatchFail()
            return self.match(p[3], EList(v[len(prefix):]), env, mod)
        if k == "bin":
            return self.match_bin(p[1], v, env, mod)
        if k == "rec":
            name = str(p[2])
            fields = self.record_fields(mod, name)
            if type(v) is not ETuple or len(v) != len(fields) + 1 or v[0] != Atom(name):
                raise MatchFail()
            for fname, fp in p[3]:
                idx = [f for f, _ in fields].index(fname)
                self.match(fp, v[idx + 1], env, mod)
            return
        if k in ("unop", "op"):
            val = self.ev(p, dict(env), mod)
            if not exact_eq(val, v):
                raise MatchFail()
            return
        raise ErlError(Atom("error"), ETuple((Atom("unsupported_pattern"), Atom(k))))

    def match_bin(self, segs, v, env, mod):
        if type(v) is not bytes:
            raise MatchFail()
        pos = 0
        for i, (val, size, types) in enumerate(segs):
            tnames = [str(t) if isinstance(t, str) else str(t[0]) for t in types]
            if val[0] == "lit" and type(val[1]) is EList:
                b = chardata_text(val[1]).encode("utf-8")
                if v[pos:pos + len(b)] != b:
                    raise MatchFail()
                pos += len(b)
                continue
            if "binary" in tnames or "bytes" in tnames or "bits" in tnames or "bitstring" in tnames:
                if size is None:
                    part = v[pos:]
                    pos = len(v)
                else:
                    sz = self.ev(size, dict(env), mod)
                    part = v[pos:pos + sz]
                    if len(part) != sz:
                        raise MatchFail()
                    pos += sz
                self.match(val, part, env, mod)
                continue
            if "utf8" in tnames:
                if pos >= len(v):
                    raise MatchFail()
                for ln in (1, 2, 3, 4):
                    try:
                        ch = v[pos:pos + ln].decode("utf-8")
                        break
                    except UnicodeDecodeError:
                        continue
                else:
                    raise MatchFail()
                pos += ln
                self.match(val, ord(ch), env, mod)
                continue
            bits = 8 if size is None else self.ev(size, dict(env), mod)
            if bits % 8:
                raise ErlError(Atom("error"), Atom("unsupported_bit_pattern"))
            nb = bits // 8
            if pos + nb > len(v):
                raise MatchFail()
            self.match(val, int.from_bytes(v[pos:pos + nb], "big"), env, mod)
            pos += nb
        if pos != len(v):
            raise MatchFail()

    def record_fields(self, mod, name):
        if name not in mod.records:
            erl_error(ETuple((Atom("undefined_record"), Atom(name))))
        return mod.records[name]

    # -- expression evaluation --
    def ev(self, e, env, mod):
        k = e[0]
        if k == "lit":
            return e[1]
        if k == "var":
            n = e[1]
            if n not in env:
                erl_error(ETuple((Atom("unbound"), Atom(n))))
            return env[n]
        if k == "paren":
            return self.ev(e[1], env, mod)
        if k == "tuple":
            return ETuple(self.ev(x, env, mod) for x in e[1])
        if k == "list":
            heads = [self.ev(x, env, mod) for x in e[1]]
            if e[2] is None:
                return EList(heads)
            tail = self.ev(e[2], env, mod)
            if type(tail) is EList:
                return EList(heads + list(tail))
            return Improper(heads, tail)
        if k == "call":
            fe = e[1]
            args = [self.ev(a, env, mod) for a in e[2]]
            if fe[0] == "lit" and type(fe[1]) is Atom:
                return self.call_local(mod, str(fe[1]), args)
            fv = self.ev(fe, env, mod)
            if type(fv) is Atom:
                return self.call_local(mod, str(fv), args)
            return self.apply_fun(fv, args)
        if k == "rcall":
            m = self.ev(e[1], env, mod)
            f = self.ev(e[2], env, mod)
            args = [self.ev(a, env, mod) for a in e[3]]
            if type(m) is not Atom or type(f) is not Atom:
                erl_error(ETuple((Atom("badfun"), m, f)))
            return self.call_mfa(m, f, args)
        if k == "map":
            base = EMap() if e[1] is None else self.ev(e[1], env, mod)
            if type(base) is not EMap:
                erl_error(ETuple((Atom("badmap"), base)))
            out = EMap(base)
            for op, ke, ve in e[2]:
                kk = self.ev(ke, env, mod)
                vv = self.ev(ve, env, mod)
                if op == ":=" and kk not in out:
                    erl_error(ETuple((Atom("badkey"), kk)))
                out[kk] = vv
            return out
        if k == "match":
            v = self.ev(e[2], env, mod)
            try:
                self.match(e[1], v, env, mod)
            except MatchFail:
                erl_error(ETuple((Atom("badmatch"), v)))
            return v
        if k == "op":
            return self.binop(e[1], self.ev(e[2], env, mod), self.ev(e[3], env, mod))
        if k == "andalso":
            l = self.ev(e[1], env, mod)
            if l == FALSE:
                return FALSE
            if l != TRUE:
                erl_error(ETuple((Atom("badarg"), l)))
            return self.ev(e[2], env, mod)
        if k == "orelse":
            l = self.ev(e[1], env, mod)
            if l == TRUE:
                return TRUE
            if l != FALSE:
                erl_error(ETuple((Atom("badarg"), l)))
            return self.ev(e[2], env, mod)
        if k == "unop":
            v = self.ev(e[2], env, mod)
            op = e[1]
            if op == "-":
                return -v
            if op == "+":
                return v
            if op == "not":
                return ebool(v == FALSE)
            if op == "bnot":
                return ~v
        if k == "case":
            v = self.ev(e[1], env, mod)
            return self.eval_clauses(e[2], v, env, mod, "case_clause")
        if k == "if":
            for _p, g, body in e[1]:
                if self.guard_ok(g, env, mod):
                    return self.eval_body(body, env, mod)
            erl_error(Atom("if_clause"))
        if k == "block":
            return self.eval_body(e[1], env, mod)
        if k == "fun":
            return Fun(mod, e[1], dict(env), e[2])
        if k == "funref":
            a = self.ev(e[3], env, mod)
            f = self.ev(e[2], env, mod)
            if e[1] is None:
                modname = mod.name
                key = (str(f), a)
                if key not in mod.funcs and key in mod.imports:
                    modname = str(mod.imports[key])
                elif key not in mod.funcs and key in AUTO_IMPORTED:
                    modname = "erlang"
                return LocalFun(self, mod, str(f), a) if modname == mod.name else ExtFun(modname, f, a)
            return ExtFun(self.ev(e[1], env, mod), f, a)
        if k == "lc":
            out = []
            self.eval_quals(e[2], 0, env, mod, lambda en: out.append(self.ev(e[1], en, mod)))
            return EList(out)
        if k == "mc":
            out = EMap()

            def add(en):
                out[self.ev(e[1], en, mod)] = self.ev(e[2], en, mod)

            self.eval_quals(e[3], 0, env, mod, add)
            return out
        if k == "bc":
            out = []
            # only `<< <<X>> || ... >>` style bodies are supported
            self.eval_quals(e[2], 0, env, mod, lambda en: out.append(self.build_bin([(e[1], None, ["binary"])], en, mod)))
            return b"".join(out)
        if k == "bin":
            return self.build_bin(e[1], env, mod)
        if k == "rec":
            name = str(e[2])
            fields = self.record_fields(mod, name)
            if e[1] is None:
                vals = []
                given = dict(e[3])
                for fname, default in fields:
                    if fname in given:
                        vals.append(self.ev(given[fname], env, mod))
                    elif "_" in given:
                        vals.append(self.ev(given["_"], env, mod))
                    elif default is not None:
                        vals.append(self.ev(default, {}, mod))
                    else:
                        vals.append(UNDEFINED)
                return ETuple([Atom(name)] + vals)
            base = self.ev(e[1], env, mod)
            vals = list(base)
            names = [f for f, _ in fields]
            for fname, fe in e[3]:
                vals[names.index(fname) + 1] = self.ev(fe, env, mod)
            return ETuple(vals)
        if k == "recidx":
            base = self.ev(e[1], env, mod)
            names = [f for f, _ in self.record_fields(mod, str(e[2]))]
            return base[names.index(str(e[3])) + 1]
        if k == "recfield_index":
            names = [f for f, _ in self.record_fields(mod, str(e[1]))]
            return names.index(str(e[2])) + 2
        if k == "try":
            return self.eval_try(e, env, mod)
        if k == "catch":
            try:
                return self.ev(e[1], env, mod)
            except ErlError as ex:
                if ex.cls == Atom("throw"):
                    return ex.reason
                if ex.cls == Atom("exit"):
                    return ETuple((Atom("EXIT"), ex.reason))
                return ETuple((Atom("EXIT"), ETuple((ex.reason, NIL))))
        if k == "maybe":
            try:
                return self.eval_body(e[1], env, mod)
            except MaybeElse as me:
                if not e[2]:
                    return me.value
                return self.eval_clauses(e[2], me.value, env, mod, "else_clause")
        if k == "maybe_match":
            v = self.ev(e[2], env, mod)
            env2 = dict(env)
            try:
                self.match(e[1], v, env2, mod)
            except MatchFail:
                raise MaybeElse(v)
            env.update(env2)
            return v
        if k == "colon":
            erl_error(Atom("bad_colon_expr"))
        if k == "receive":
            if e[2] is not None:
                return self.eval_body(e[2][1], env, mod)
            erl_error(Atom("receive_blocks"))
        if k == "send":
            return self.ev(e[2], env, mod)
        raise ErlError(Atom("error"), ETuple((Atom("unsupported_expr"), Atom(k))))

    def eval_clauses(self, clauses, v, env, mod, errtag):
        for pats, g, body in clauses:
            env2 = dict(env)
            try:
                self.match(pats[0], v, env2, mod)
            except MatchFail:
                continue
            if g and not self.guard_ok(g, env2, mod):
                continue
            env.update(env2)
            return self.eval_body(body, env, mod)
        erl_error(ETuple((Atom(errtag), v)))

    def eval_try(self, e, env, mod):
        _, body, of_clauses, catch_clauses, after = e
        try:
            try:
                v = self.eval_body(body, env, mod)
            except ErlError as ex:
                for pats, g, cbody in catch_clauses:
                    env2 = dict(env)
                    p = pats[0]
                    cls_p, reason_p, stack_p = ("lit", Atom("throw")), p, None
                    if p[0] == "colon":
                        if p[1][0] == "colon":
                            cls_p, reason_p, stack_p = p[1][1], p[1][2], p[2]
                        else:
                            cls_p, reason_p = p[1], p[2]
                    try:
                        self.match(cls_p, ex.cls, env2, mod)
                        self.match(reason_p, ex.reason, env2, mod)
                        if stack_p is not None:
                            self.match(stack_p, ex.stack, env2, mod)
                    except MatchFail:
                        continue
                    if g and not self.guard_ok(g, env2, mod):
                        continue
                    env.update(env2)
                    return self.eval_body(cbody, env, mod)
                raise
            if of_clauses:
                return self.eval_clauses(of_clauses, v, env, mod, "try_clause")
            return v
        finally:
            if after:
                self.eval_body(after, env, mod)

    def eval_quals(self, quals, i, env, mod, emit):
        if i == len(quals):
            emit(env)
            return
        q = quals[i]
        if q[0] == "gen":
            lst = self.ev(q[2], env, mod)
            if type(lst) is not EList:
                erl_error(ETuple((Atom("bad_generator"), lst)))
            for item in lst:
                env2 = dict(env)
                try:
                    self.match(q[1], item, env2, mod)
                except MatchFail:
                    continue
                self.eval_quals(quals, i + 1, env2, mod, emit)
        elif q[0] == "mgen":
            m = self.ev(q[3], env, mod)
            for kk in sorted(m.keys(), key=term_key):
                env2 = dict(env)
                try:
                    self.match(q[1], kk, env2, mod)
                    self.match(q[2], m[kk], env2, mod)
                except MatchFail:
                    continue
                self.eval_quals(quals, i + 1, env2, mod, emit)
        elif q[0] == "bgen":
            erl_error(Atom("binary_generator_unsupported"))
        else:
            v = self.ev(q[1], dict(env), mod)
            if v == TRUE:
                self.eval_quals(quals, i + 1, env, mod, emit)

    def build_bin(self, segs, env, mod):
        out = []
        for val, size, types in segs:
            tnames = [str(t) if isinstance(t, str) else str(t[0]) for t in types]
            v = self.ev(val, env, mod)
            if type(v) is EList and val[0] == "lit" and not tnames:
                out.append(chardata_text(v).encode("latin-1", "replace"))
                continue
            if type(v) is EList and val[0] == "lit" and "utf8" in tnames:
                out.append(chardata_text(v).encode("utf-8"))
                continue
            if "binary" in tnames or "bytes" in tnames or "bits" in tnames or "bitstring" in tnames:
                if type(v) is not bytes:
                    erl_error(ETuple((Atom("badarg"), v)))
                out.append(v if size is None else v[: self.ev(size, env, mod)])
                continue
            if "utf8" in tnames:
                out.append(chr(v).encode("utf-8"))
                continue
            if "float" in tnames:
                import struct
                out.append(struct.pack(">d", float(v)))
                continue
            if type(v) is not int:
                erl_error(ETuple((Atom("badarg"), v)))
            bits = 8 if size is None else self.ev(size, env, mod)
            if bits % 8:
                erl_error(Atom("unsupported_bits"))
            out.append((v % (1 << bits)).to_bytes(bits // 8, "big"))
        return b"".join(out)

    def binop(self, op, a, b):
        if op == "++":
            if type(a) is not EList:
                erl_error(ETuple((Atom("badarg"), a)))
            if type(b) is EList:
                return EList(tuple(a) + tuple(b))
            if not a:
                return b
            return Improper(a, b)
        if op == "--":
            out = list(a)
            for x in b:
                for i, y in enumerate(out):
                    if exact_eq(x, y):
                        del out[i]
                        break
            return EList(out)
        if op == "=:=":
            return ebool(exact_eq(a, b))
        if op == "=/=":
            return ebool(not exact_eq(a, b))
        if op == "==":
            return ebool(loose_eq(a, b))
        if op == "/=":
            return ebool(not loose_eq(a, b))
        if op in ("<", ">", "=<", ">="):
            if type(a) in (int, float) and type(b) in (int, float):
                ka, kb = a, b
            else:
                ka, kb = term_key(a), term_key(b)
            return ebool({"<": ka < kb, ">": ka > kb, "=<": ka <= kb, ">=": ka >= kb}[op])
        if op in ("+", "-", "*", "/", "div", "rem", "band", "bor", "bxor", "bsl", "bsr"):
            if type(a) not in (int, float) or type(b) not in (int, float):
                erl_error(ETuple((Atom("badarith"), Atom(op), a, b)))
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                return a / b
            if op == "div":
                q = abs(a) // abs(b)
                return q if (a >= 0) == (b >= 0) else -q
            if op == "rem":
                r = abs(a) % abs(b)
                return r if a >= 0 else -r
            if op == "band":
                return a & b
            if op == "bor":
                return a | b
            if op == "bxor":
                return a ^ b
            if op == "bsl":
                return a << b
            if op == "bsr":
                return a >> b
        if op == "and":
            return ebool(a == TRUE and b == TRUE)
        if op == "or":
            return ebool(a == TRUE or b == TRUE)
        if op == "xor":
            return ebool((a == TRUE) != (b == TRUE))
        erl_error(ETuple((Atom("badop"), Atom(op))))

    @staticmethod
    def const_eval(e):
        it = Interp.__new__(Interp)
        it.py_mfa = {}
        from_builtins(it)
        m = Module("$const")
        return it.ev(e, {}, m)


class MaybeElse(Exception):
    def __init__(self, v):
        self.value = v


class LocalFun(PyFun):
    def __init__(self, interp, mod, f, arity):
        self.interp, self.mod, self.f = interp, mod, f
        PyFun.__init__(self, lambda *a: interp.call_local(mod, f, list(a)), arity)

    def __repr__(self):
        return "fun %s/%d" % (self.f, self.arity)


def type_term(name, args, mod=None):
    return ETuple((Atom("$type_refl"), Atom(str(name)), EList(args)))


TYPEREFL_LOCAL = {
    ("any", 0), ("atom", 0), ("binary", 0), ("boolean", 0), ("float", 0),
    ("function", 0), ("integer", 0), ("list", 0), ("list", 1), ("map", 0),
    ("nonempty_list", 1), ("number", 0), ("pid", 0), ("port", 0),
    ("reference", 0), ("term", 0), ("tuple", 0), ("byte", 0), ("char", 0),
    ("arity", 0), ("module", 0), ("non_neg_integer", 0), ("pos_integer", 0),
    ("string", 0), ("nil", 0), ("map", 1), ("map", 2), ("iolist", 0), ("iodata", 0),
    ("union", 2), ("union", 1), ("tuple", 1), ("range", 2), ("nonempty_string", 0),
    ("printable_latin1_list", 0), ("printable_unicode_list", 0), ("mfa", 0),
    ("timeout", 0), ("identifier", 0), ("neg_integer", 0),
}

AUTO_IMPORTED = {
    ("abs", 1), ("apply", 2), ("apply", 3), ("atom_to_binary", 1), ("atom_to_binary", 2),
    ("atom_to_list", 1), ("binary_to_atom", 1), ("binary_to_atom", 2),
    ("binary_to_existing_atom", 1), ("binary_to_existing_atom", 2), ("binary_to_integer", 1),
    ("binary_to_list", 1), ("binary_to_term", 1), ("byte_size", 1), ("element", 2),
    ("error", 1), ("error", 2), ("error", 3), ("exit", 1), ("float", 1), ("float_to_list", 1),
    ("hd", 1), ("integer_to_binary", 1), ("integer_to_binary", 2), ("integer_to_list", 1),
    ("integer_to_list", 2), ("iolist_to_binary", 1), ("iolist_size", 1), ("is_atom", 1),
    ("is_binary", 1), ("is_boolean", 1), ("is_function", 1), ("is_function", 2),
    ("is_integer", 1), ("is_float", 1), ("is_list", 1), ("is_map", 1), ("is_map_key", 2),
    ("is_number", 1), ("is_pid", 1), ("is_reference", 1), ("is_tuple", 1), ("length", 1),
    ("list_to_atom", 1), ("list_to_binary", 1), ("list_to_existing_atom", 1),
    ("list_to_integer", 1), ("list_to_tuple", 1), ("make_ref", 0), ("map_get", 2),
    ("map_size", 1), ("max", 2), ("min", 2), ("node", 0), ("round", 1), ("self", 0),
    ("setelement", 3), ("size", 1), ("throw", 1), ("tl", 1), ("trunc", 1),
    ("tuple_size", 1), ("tuple_to_list", 1), ("term_to_binary", 1), ("get", 1), ("put", 2),
    ("is_bitstring", 1), ("bit_size", 1), ("list_to_float", 1), ("binary_part", 3),
    ("ceil", 1), ("floor", 1), ("function_exported", 3), ("atom_to_binary", 2),
    ("nodes", 0), ("whereis", 1), ("is_process_alive", 1), ("spawn", 1), ("erase", 1),
}


# ---------------------------------------------------------------------------
# Builtins (OTP functions and runtime facts)
# ---------------------------------------------------------------------------


def elist(x):
    return EList(x)


def from_builtins(it):
    P = {}

    def reg(m, f, arity=None):
        def deco(fn):
            P[(m, f) if arity is None else (m, f, arity)] = fn
            return fn
        return deco

    def call(fv, *args):
        return it.apply_fun(fv, list(args))

    def is_list(v):
        return type(v) is EList

    def bad(*a):
        erl_error(ETuple((Atom("badarg"),) + tuple(a)))

    # erlang
    E = "erlang"
    P[(E, "abs")] = abs
    P[(E, "atom_to_list")] = lambda a: estr(str(a))
    P[(E, "atom_to_binary")] = lambda a, *enc: ebin(str(a))
    P[(E, "binary_to_atom")] = lambda b, *enc: Atom(b.decode("utf-8"))
    P[(E, "binary_to_existing_atom")] = lambda b, *enc: Atom(b.decode("utf-8"))
    P[(E, "list_to_atom")] = lambda l: Atom(chardata_text(l))
    P[(E, "list_to_existing_atom")] = lambda l: Atom(chardata_text(l))
    P[(E, "list_to_binary")] = lambda l: iolist_bytes(l)
    P[(E, "iolist_to_binary")] = lambda l: iolist_bytes(l)
    P[(E, "iolist_size")] = lambda l: len(iolist_bytes(l))
    P[(E, "binary_to_list")] = lambda b: EList(b)
    P[(E, "integer_to_list")] = lambda i, base=10: estr(int_to_base(i, base))
    P[(E, "integer_to_binary")] = lambda i, base=10: ebin(int_to_base(i, base))
    P[(E, "list_to_integer")] = lambda l, base=10: int(chardata_text(l), base)
    P[(E, "binary_to_integer")] = lambda b, base=10: int(b.decode(), base)
    P[(E, "float_to_list")] = lambda f, *o: estr(repr(f))
    P[(E, "list_to_float")] = lambda l: float(chardata_text(l))
    P[(E, "float")] = lambda x: float(x)
    P[(E, "element")] = lambda n, t: t[n - 1]
    P[(E, "setelement")] = lambda n, t, v: ETuple(t[:n - 1] + (v,) + t[n:])
    P[(E, "tuple_size")] = len
    P[(E, "size")] = len
    P[(E, "byte_size")] = len
    P[(E, "bit_size")] = lambda b: 8 * len(b)
    P[(E, "length")] = lambda l: len(l) if is_list(l) else bad(l)
    P[(E, "hd")] = lambda l: l[0] if is_list(l) and l else bad(l)
    P[(E, "tl")] = lambda l: EList(l[1:]) if is_list(l) and l else bad(l)
    P[(E, "map_size")] = len
    P[(E, "map_get")] = lambda k, m: m[k] if k in m else erl_error(ETuple((Atom("badkey"), k)))
    P[(E, "is_map_key")] = lambda k, m: ebool(k in m)
    P[(E, "is_atom")] = lambda v: ebool(type(v) is Atom)
    P[(E, "is_binary")] = lambda v: ebool(type(v) is bytes)
    P[(E, "is_bitstring")] = lambda v: ebool(type(v) is bytes)
    P[(E, "is_boolean")] = lambda v: ebool(v in (TRUE, FALSE))
    P[(E, "is_function")] = lambda v, a=None: ebool(is_fun(v) and (a is None or v.arity == a))
    P[(E, "is_integer")] = lambda v: ebool(type(v) is int)
    P[(E, "is_float")] = lambda v: ebool(type(v) is float)
    P[(E, "is_number")] = lambda v: ebool(type(v) in (int, float))
    P[(E, "is_list")] = lambda v: ebool(type(v) in (EList, Improper))
    P[(E, "is_map")] = lambda v: ebool(type(v) is EMap)
    P[(E, "is_tuple")] = lambda v: ebool(type(v) is ETuple)
    P[(E, "is_pid")] = lambda v: FALSE
    P[(E, "is_reference")] = lambda v: FALSE
    P[(E, "max")] = lambda a, b: a if term_key(a) >= term_key(b) else b
    P[(E, "min")] = lambda a, b: a if term_key(a) <= term_key(b) else b
    P[(E, "round")] = lambda x: int(round(x))
    P[(E, "trunc")] = lambda x: int(x)
    P[(E, "ceil")] = lambda x: -int(-x // 1)
    P[(E, "floor")] = lambda x: int(x // 1)
    P[(E, "tuple_to_list")] = lambda t: EList(t)
    P[(E, "list_to_tuple")] = lambda l: ETuple(l)
    P[(E, "node")] = lambda *a: Atom("emqx@127.0.0.1")
    P[(E, "nodes")] = lambda *a: NIL
    P[(E, "self")] = lambda: Atom("$self")
    P[(E, "make_ref")] = lambda: Atom("$ref")
    P[(E, "whereis")] = lambda n: UNDEFINED
    P[(E, "binary_part")] = lambda b, s, l: b[s:s + l]

    def raise_(cls):
        def f(reason, *rest):
            raise ErlError(Atom(cls), reason)
        return f

    P[(E, "error")] = raise_("error")
    P[(E, "throw")] = raise_("throw")
    P[(E, "exit")] = raise_("exit")
    def eraise(c, r, st):
        raise ErlError(c, r, "", st)

    P[(E, "raise")] = eraise
    P[(E, "apply")] = lambda *a: it.apply_fun(a[0], list(a[1])) if len(a) == 2 else it.call_mfa(a[0], a[1], list(a[2]))
    P[(E, "function_exported")] = lambda m, f, a: ebool(it.exported(m, f, a))
    P[(E, "get")] = lambda k: it.pdict.get(k, UNDEFINED)

    def put(k, v):
        old = it.pdict.get(k, UNDEFINED)
        it.pdict[k] = v
        return old

    P[(E, "put")] = put
    P[(E, "erase")] = lambda k: it.pdict.pop(k, UNDEFINED)
    P[(E, "system_info")] = lambda k: {"schedulers": 2, "schedulers_online": 2, "otp_release": estr("26"),
                                       "process_limit": 2097152, "port_limit": 1048576,
                                       "wordsize": 8, "logical_processors": 2}.get(str(k), UNDEFINED)
    P[(E, "system_flag")] = lambda *a: OK
    P[(E, "term_to_binary")] = lambda t: ebin(repr(t))
    P[(E, "phash2")] = lambda *a: 0
    P[(E, "is_process_alive")] = lambda p: FALSE
    P[(E, "memory")] = lambda *a: 8 * 1024 ** 3
    P[(E, "atom_to_binary")] = lambda a, *enc: ebin(str(a))

    # lists
    L = "lists"
    P[(L, "map")] = lambda f, l: EList(call(f, x) for x in l)
    P[(L, "flatmap")] = lambda f, l: EList(y for x in l for y in call(f, x))
    P[(L, "foreach")] = lambda f, l: ([call(f, x) for x in l], OK)[1]

    def foldl(f, acc, l):
        for x in l:
            acc = call(f, x, acc)
        return acc

    def foldr(f, acc, l):
        for x in reversed(l):
            acc = call(f, x, acc)
        return acc

    P[(L, "foldl")] = foldl
    P[(L, "foldr")] = foldr
    P[(L, "filter")] = lambda f, l: EList(x for x in l if call(f, x) == TRUE)

    def filtermap(f, l):
        out = []
        for x in l:
            r = call(f, x)
            if r == TRUE:
                out.append(x)
            elif type(r) is ETuple and r[0] == TRUE:
                out.append(r[1])
        return EList(out)

    P[(L, "filtermap")] = filtermap
    P[(L, "member")] = lambda x, l: ebool(any(exact_eq(x, y) for y in l))
    P[(L, "reverse")] = lambda l, t=NIL: EList(tuple(reversed(l)) + tuple(t))
    P[(L, "append")] = lambda a, b=None: EList(y for x in a for y in x) if b is None else EList(tuple(a) + tuple(b))
    P[(L, "concat")] = lambda l: EList(c for x in l for c in (estr(str(x)) if type(x) is Atom else (estr(str(x)) if type(x) in (int, float) else x)))

    def flatten(l, tail=NIL):
        out = []

        def rec(x):
            for y in x:
                if type(y) is EList:
                    rec(y)
                else:
                    out.append(y)

        rec(l)
        return EList(out + list(tail))

    P[(L, "flatten")] = flatten

    def usort(*a):
        if len(a) == 1:
            l = a[0]
            out = []
            for x in sorted(l, key=term_key):
                if not out or not exact_eq(out[-1], x):
                    out.append(x)
            return EList(out)
        f, l = a
        import functools
        out = []
        for x in sorted(l, key=functools.cmp_to_key(lambda x, y: -1 if call(f, x, y) == TRUE else 1)):
            if not out or not (call(f, out[-1], x) == TRUE and call(f, x, out[-1]) == TRUE):
                out.append(x)
        return EList(out)

    def sort(*a):
        if len(a) == 1:
            return EList(sorted(a[0], key=term_key))
        f, l = a
        import functools
        return EList(sorted(l, key=functools.cmp_to_key(lambda x, y: -1 if call(f, x, y) == TRUE else 1)))

    P[(L, "usort")] = usort
    P[(L, "sort")] = sort
    P[(L, "seq")] = lambda a, b, s=1: EList(range(a, b + 1, s))
    P[(L, "nth")] = lambda n, l: l[n - 1]
    P[(L, "nthtail")] = lambda n, l: EList(l[n:])
    P[(L, "last")] = lambda l: l[-1]
    P[(L, "sum")] = lambda l: sum(l)
    P[(L, "max")] = lambda l: max(l, key=term_key)
    P[(L, "min")] = lambda l: min(l, key=term_key)
    P[(L, "zip")] = lambda a, b, *h: EList(ETuple(p) for p in zip(a, b))
    P[(L, "zip3")] = lambda a, b, c: EList(ETuple(p) for p in zip(a, b, c))
    P[(L, "unzip")] = lambda l: ETuple((EList(x[0] for x in l), EList(x[1] for x in l)))
    P[(L, "any")] = lambda f, l: ebool(any(call(f, x) == TRUE for x in l))
    P[(L, "all")] = lambda f, l: ebool(all(call(f, x) == TRUE for x in l))

    def delete(x, l):
        out = list(l)
        for i, y in enumerate(out):
            if exact_eq(x, y):
                del out[i]
                break
        return EList(out)

    P[(L, "delete")] = delete
    P[(L, "subtract")] = lambda a, b: it.binop("--", a, b)
    P[(L, "duplicate")] = lambda n, x: EList([x] * n)
    P[(L, "sublist")] = lambda l, *a: EList(l[:a[0]]) if len(a) == 1 else EList(l[a[0] - 1:a[0] - 1 + a[1]])

    def keyfind(k, n, l):
        for t in l:
            if type(t) is ETuple and len(t) >= n and loose_eq(t[n - 1], k):
                return t
        return FALSE

    P[(L, "keyfind")] = keyfind
    P[(L, "keymember")] = lambda k, n, l: ebool(keyfind(k, n, l) != FALSE)
    P[(L, "keysearch")] = lambda k, n, l: (lambda r: FALSE if r == FALSE else ETuple((Atom("value"), r)))(keyfind(k, n, l))

    def keydelete(k, n, l):
        out = list(l)
        for i, t in enumerate(out):
            if type(t) is ETuple and len(t) >= n and loose_eq(t[n - 1], k):
                del out[i]
                break
        return EList(out)

    P[(L, "keydelete")] = keydelete

    def keyreplace(k, n, l, new):
        out = list(l)
        for i, t in enumerate(out):
            if type(t) is ETuple and len(t) >= n and loose_eq(t[n - 1], k):
                out[i] = new
                break
        return EList(out)

    P[(L, "keyreplace")] = keyreplace

    def keystore(k, n, l, new):
        out = list(l)
        for i, t in enumerate(out):
            if type(t) is ETuple and len(t) >= n and loose_eq(t[n - 1], k):
                out[i] = new
                return EList(out)
        return EList(out + [new])

    P[(L, "keystore")] = keystore

    def keytake(k, n, l):
        for i, t in enumerate(l):
            if type(t) is ETuple and len(t) >= n and loose_eq(t[n - 1], k):
                return ETuple((Atom("value"), t, EList(l[:i] + l[i + 1:])))
        return FALSE

    P[(L, "keytake")] = keytake
    P[(L, "keysort")] = lambda n, l: EList(sorted(l, key=lambda t: term_key(t[n - 1])))
    P[(L, "ukeysort")] = lambda n, l: ukeysort(n, l)

    def ukeysort(n, l):
        out = []
        for t in sorted(l, key=lambda t: term_key(t[n - 1])):
            if not out or not loose_eq(out[-1][n - 1], t[n - 1]):
                out.append(t)
        return EList(out)

    P[(L, "ukeymerge")] = lambda n, a, b: ukeysort(n, list(a) + list(b))
    P[(L, "keymerge")] = lambda n, a, b: EList(sorted(list(a) + list(b), key=lambda t: term_key(t[n - 1])))
    P[(L, "merge")] = lambda *a: EList(sorted([x for l in (a[0] if len(a) == 1 else a) for x in l], key=term_key))
    P[(L, "umerge")] = lambda *a: usort(EList([x for l in (a[0] if len(a) == 1 else a) for x in l]))

    def partition(f, l):
        a, b = [], []
        for x in l:
            (a if call(f, x) == TRUE else b).append(x)
        return ETuple((EList(a), EList(b)))

    P[(L, "partition")] = partition

    def splitwith(f, l):
        for i, x in enumerate(l):
            if call(f, x) != TRUE:
                return ETuple((EList(l[:i]), EList(l[i:])))
        return ETuple((EList(l), NIL))

    P[(L, "splitwith")] = splitwith
    P[(L, "split")] = lambda n, l: ETuple((EList(l[:n]), EList(l[n:])))
    P[(L, "takewhile")] = lambda f, l: splitwith(f, l)[0]
    P[(L, "dropwhile")] = lambda f, l: splitwith(f, l)[1]

    def mapfoldl(f, acc, l):
        out = []
        for x in l:
            r = call(f, x, acc)
            out.append(r[0])
            acc = r[1]
        return ETuple((EList(out), acc))

    P[(L, "mapfoldl")] = mapfoldl
    P[(L, "join")] = lambda sep, l: EList([y for i, x in enumerate(l) for y in ((x,) if i == 0 else (sep, x))])
    P[(L, "prefix")] = lambda a, b: ebool(tuple(b[:len(a)]) == tuple(a))
    P[(L, "suffix")] = lambda a, b: ebool(len(a) <= len(b) and tuple(b[len(b) - len(a):]) == tuple(a))
    P[(L, "search")] = lambda f, l: next((ETuple((Atom("value"), x)) for x in l if call(f, x) == TRUE), FALSE)
    P[(L, "droplast")] = lambda l: EList(l[:-1])
    P[(L, "enumerate")] = lambda l, *a: EList(ETuple((i + (a[0] if a else 1), x)) for i, x in enumerate(l))
    P[(L, "uniq")] = lambda l: EList(dict.fromkeys(l))

    # maps
    M = "maps"

    def mget(k, m, *d):
        if type(m) is not EMap:
            erl_error(ETuple((Atom("badmap"), m)))
        if k in m:
            return m[k]
        if d:
            return d[0]
        erl_error(ETuple((Atom("badkey"), k)))

    P[(M, "get")] = mget
    P[(M, "find")] = lambda k, m: ETuple((OK, m[k])) if k in m else Atom("error")
    P[(M, "is_key")] = lambda k, m: ebool(k in m)
    P[(M, "put")] = lambda k, v, m: _mput(m, k, v)
    P[(M, "remove")] = lambda k, m: EMap((a, b) for a, b in m.items() if a != k)
    P[(M, "without")] = lambda ks, m: EMap((a, b) for a, b in m.items() if a not in ks)
    P[(M, "with")] = lambda ks, m: EMap((a, b) for a, b in m.items() if a in ks)
    P[(M, "keys")] = lambda m: EList(sorted(m.keys(), key=term_key))
    P[(M, "values")] = lambda m: EList(m[k] for k in sorted(m.keys(), key=term_key))
    P[(M, "to_list")] = lambda m: EList(ETuple((k, m[k])) for k in sorted(m.keys(), key=term_key))
    P[(M, "from_list")] = lambda l: EMap((t[0], t[1]) for t in l)
    P[(M, "from_keys")] = lambda ks, v: EMap((k, v) for k in ks)
    P[(M, "merge")] = lambda a, b: _mmerge(a, b)
    P[(M, "new")] = lambda: EMap()
    P[(M, "size")] = len

    def mfold(f, acc, m):
        for k in sorted(m.keys(), key=term_key):
            acc = call(f, k, m[k], acc)
        return acc

    P[(M, "fold")] = mfold
    P[(M, "map")] = lambda f, m: EMap((k, call(f, k, v)) for k, v in m.items())
    P[(M, "filter")] = lambda f, m: EMap((k, v) for k, v in m.items() if call(f, k, v) == TRUE)

    def mfiltermap(f, m):
        out = EMap()
        for k, v in m.items():
            r = call(f, k, v)
            if r == TRUE:
                out[k] = v
            elif type(r) is ETuple:
                out[k] = r[1]
        return out

    P[(M, "filtermap")] = mfiltermap
    P[(M, "foreach")] = lambda f, m: ([call(f, k, v) for k, v in m.items()], OK)[1]

    def update_with(k, f, *a):
        if len(a) == 1:
            m = a[0]
            return _mput(m, k, call(f, m[k]))
        init, m = a
        return _mput(m, k, call(f, m[k]) if k in m else init)

    P[(M, "update_with")] = update_with
    P[(M, "update")] = lambda k, v, m: _mput(m, k, v) if k in m else erl_error(ETuple((Atom("badkey"), k)))
    P[(M, "take")] = lambda k, m: ETuple((m[k], EMap((a, b) for a, b in m.items() if a != k))) if k in m else Atom("error")
    P[(M, "iterator")] = lambda m, *o: m
    P[(M, "groups_from_list")] = lambda f, l: _groups(call, f, l)

    # proplists
    PL = "proplists"

    def pl_get(k, l, d=UNDEFINED):
        for x in l:
            if type(x) is ETuple and len(x) >= 1 and x[0] == k:
                return x[1] if len(x) == 2 else x
            if x == k:
                return TRUE
        return d

    P[(PL, "get_value")] = pl_get
    P[(PL, "get_bool")] = lambda k, l: pl_get(k, l, FALSE)
    P[(PL, "lookup")] = lambda k, l: next((x for x in l if (type(x) is ETuple and x[0] == k)), NIL)
    P[(PL, "is_defined")] = lambda k, l: ebool(any((type(x) is ETuple and x[0] == k) or x == k for x in l))
    P[(PL, "delete")] = lambda k, l: EList(x for x in l if not ((type(x) is ETuple and x[0] == k) or x == k))
    P[(PL, "get_keys")] = lambda l: usort(EList(x[0] if type(x) is ETuple else x for x in l))

    # string / binary / unicode / io_lib / filename
    S = "string"
    P[(S, "to_lower")] = lambda s: estr(chardata_text(s).lower()) if type(s) is not bytes else ebin(s.decode().lower())
    P[(S, "to_upper")] = lambda s: estr(chardata_text(s).upper())
    P[(S, "lowercase")] = lambda s: ebin(s.decode().lower()) if type(s) is bytes else estr(chardata_text(s).lower())
    P[(S, "uppercase")] = lambda s: ebin(s.decode().upper()) if type(s) is bytes else estr(chardata_text(s).upper())
    P[(S, "join")] = lambda l, sep: estr(chardata_text(sep).join(chardata_text(x) for x in l))
    P[(S, "tokens")] = lambda s, seps: EList(estr(x) for x in re.split("[" + re.escape(chardata_text(seps)) + "]", chardata_text(s)) if x)

    def ssplit(s, sep, where=Atom("leading")):
        t = chardata_text(s)
        parts = t.split(chardata_text(sep)) if where == Atom("all") else t.split(chardata_text(sep), 1)
        mk = (lambda x: ebin(x)) if type(s) is bytes else estr
        return EList(mk(x) for x in parts)

    P[(S, "split")] = ssplit
    P[(S, "trim")] = lambda s, *a: (ebin if type(s) is bytes else estr)(chardata_text(s).strip())
    P[(S, "strip")] = lambda s, *a: estr(chardata_text(s).strip())
    P[(S, "length")] = lambda s: len(chardata_text(s))
    P[(S, "equal")] = lambda a, b, *o: ebool(chardata_text(a) == chardata_text(b))
    P[(S, "is_empty")] = lambda s: ebool(chardata_text(s) == "")
    P[(S, "prefix")] = lambda s, p: (lambda t, q: (ebin if type(s) is bytes else estr)(t[len(q):]) if t.startswith(q) else Atom("nomatch"))(chardata_text(s), chardata_text(p))
    P[(S, "replace")] = lambda s, a, b, *w: estr(chardata_text(s).replace(chardata_text(a), chardata_text(b)))
    P[(S, "find")] = lambda s, p, *d: (lambda t, q: estr(t[t.find(q):]) if q in t else Atom("nomatch"))(chardata_text(s), chardata_text(p))
    P[(S, "concat")] = lambda a, b: estr(chardata_text(a) + chardata_text(b))
    P[(S, "slice")] = lambda s, a, *n: estr(chardata_text(s)[a:a + n[0]] if n else chardata_text(s)[a:])
    B = "binary"
    P[(B, "split")] = lambda b, sep, *o: EList(b.split(sep) if (o and Atom("global") in o[0]) else b.split(sep, 1))
    P[(B, "replace")] = lambda b, x, y, *o: b.replace(x, y) if (o and Atom("global") in o[0]) else b.replace(x, y, 1)
    P[(B, "part")] = lambda b, s, l: b[s:s + l]
    P[(B, "match")] = lambda b, p, *o: ETuple((b.find(p), len(p))) if p in b else Atom("nomatch")
    P[(B, "list_to_bin")] = iolist_bytes
    P[(B, "bin_to_list")] = lambda b: EList(b)
    P[(B, "copy")] = lambda b, n=1: b * n
    P[(B, "join")] = lambda l, sep: sep.join(l)
    U = "unicode"
    P[(U, "characters_to_binary")] = lambda s, *a: chardata_text(s).encode("utf-8")
    P[(U, "characters_to_list")] = lambda s, *a: estr(chardata_text(s))
    P[("io_lib", "format")] = lambda fmt, args: estr(erl_format(chardata_text(fmt), list(args)))
    P[("io_lib", "format", 2)] = P[("io_lib", "format")]
    P[("io", "format")] = lambda *a: OK
    P[("filename", "join")] = lambda *a: (estr(os.path.join(*[chardata_text(x) for x in a[0]])) if len(a) == 1 else (lambda r: ebin(r) if type(a[0]) is bytes or type(a[1]) is bytes else estr(r))(os.path.join(chardata_text(a[0]), chardata_text(a[1]))))
    P[("filename", "basename")] = lambda p: estr(os.path.basename(chardata_text(p)))
    P[("filename", "dirname")] = lambda p: estr(os.path.dirname(chardata_text(p)))
    P[("filename", "absname")] = lambda p: p
    P[("os", "getenv")] = lambda *a: FALSE if len(a) == 1 else a[1]
    P[("calendar", "system_time_to_local_time")] = lambda *a: ETuple((ETuple((2024, 1, 1)), ETuple((0, 0, 0))))
    P[("calendar", "local_time")] = lambda *a: ETuple((ETuple((2024, 1, 1)), ETuple((0, 0, 0))))
    P[("os", "system_time")] = lambda *a: 1700000000
    P[("erlang", "system_time")] = lambda *a: 1700000000
    P[("os", "type")] = lambda: ETuple((Atom("unix"), Atom("linux")))
    P[("code", "ensure_loaded")] = lambda m: ETuple((Atom("module"), m)) if it.module(m) is not None else ETuple((Atom("error"), Atom("nofile")))
    P[("code", "priv_dir")] = lambda app: estr("/opt/emqx/lib/%s/priv" % app)
    P[("code", "lib_dir")] = lambda *a: estr("/opt/emqx/lib/%s" % a[0])
    P[("code", "is_loaded")] = lambda m: FALSE
    P[("code", "which")] = lambda m: estr("/opt/emqx/%s.beam" % m)
    P[("application", "get_env")] = lambda *a: (UNDEFINED if len(a) == 2 else a[2]) if len(a) != 1 else UNDEFINED
    P[("application", "get_env", 2)] = lambda app, k: UNDEFINED
    P[("application", "get_env", 3)] = lambda app, k, d: d
    P[("application", "loaded_applications")] = lambda: NIL
    P[("application", "get_key")] = lambda *a: UNDEFINED
    P[("application", "get_application")] = lambda *a: UNDEFINED
    P[("persistent_term", "get")] = lambda k, *d: it.pterm[k] if k in it.pterm else (d[0] if d else erl_error(Atom("badarg")))

    def pt_put(k, v):
        it.pterm[k] = v
        return OK

    P[("persistent_term", "put")] = pt_put
    P[("persistent_term", "erase")] = lambda k: ebool(it.pterm.pop(k, None) is not None)
    P[("logger", "warning")] = lambda *a: OK
    P[("logger", "error")] = lambda *a: OK
    P[("logger", "info")] = lambda *a: OK
    P[("logger", "debug")] = lambda *a: OK
    P[("logger", "notice")] = lambda *a: OK
    P[("logger", "log")] = lambda *a: OK
    P[("logger", "allow")] = lambda *a: FALSE
    P[("ets", "whereis")] = lambda *a: UNDEFINED
    P[("ets", "info")] = lambda *a: UNDEFINED
    P[("crypto", "supports")] = lambda *a: EList([])
    P[("ssl", "cipher_suites")] = lambda *a: NIL
    P[("ssl", "versions")] = lambda *a: NIL
    P[("inet", "parse_address")] = lambda a: ETuple((OK, ETuple((127, 0, 0, 1))))
    P[("uri_string", "parse")] = lambda s: EMap()
    P[("re", "run")] = lambda *a: Atom("nomatch")
    P[("re", "replace")] = lambda s, *a: s
    P[("re", "split")] = lambda s, *a: EList([s])
    P[("sets", "from_list")] = lambda l, *o: usort(l)
    P[("sets", "to_list")] = lambda s: s
    P[("sets", "is_element")] = lambda x, s: ebool(x in s)
    P[("ordsets", "from_list")] = lambda l: usort(l)
    P[("ordsets", "union")] = lambda *a: usort(EList(x for l in (a[0] if len(a) == 1 else a) for x in l))
    P[("ordsets", "is_element")] = lambda x, s: ebool(x in s)
    P[("ordsets", "subtract")] = lambda a, b: EList(x for x in a if x not in b)
    P[("ordsets", "intersection")] = lambda a, b: EList(x for x in a if x in b)
    P[("timer", "seconds")] = lambda s: s * 1000
    P[("timer", "minutes")] = lambda s: s * 60000
    P[("timer", "hours")] = lambda s: s * 3600000
    P[("math", "pow")] = lambda a, b: float(a) ** b
    P[("net_kernel", "get_net_ticktime")] = lambda: 60
    P[("emqx_release", "edition")] = lambda: Atom(it.edition)
    P[("emqx_release", "version")] = lambda: estr("5")
    P[("emqx_release", "get_flavor")] = lambda: Atom("official")
    P[("emqx_release", "edition_vsn_prefix")] = lambda: estr("v" if it.edition == "ce" else "e")
    P[("emqx_utils", "interactive_load")] = lambda m: OK
    P[("emqx_schema_hooks_compat", "noop")] = lambda *a: OK
    P[("typerefl", "alias")] = lambda *a: type_term("alias", list(a))
    P[("typerefl", "regexp_string")] = lambda *a: type_term("regexp_string", list(a))
    P[("typerefl", "regexp_binary")] = lambda *a: type_term("regexp_binary", list(a))
    P[("typerefl", "name")] = lambda t: t[1] if type(t) is ETuple and len(t) > 1 else Atom("?")
    # hoconsc (emqx/hocon src/hoconsc.erl)
    H = "hoconsc"
    P[(H, "mk")] = lambda t, meta=None: _mput(meta if meta is not None else EMap(), Atom("type"), t)
    P[(H, "ref")] = lambda *a: ETuple((Atom("ref"),) + tuple(a))
    P[(H, "array")] = lambda t: ETuple((Atom("array"), t))
    P[(H, "union")] = lambda ts, dn=UNDEFINED: ETuple((Atom("union"), ts, dn))
    P[(H, "enum")] = lambda s: ETuple((Atom("enum"), s))
    P[(H, "lazy")] = lambda t: ETuple((Atom("lazy"), t))
    P[(H, "map")] = lambda n, t: ETuple((Atom("map"), n, t))
    P[(H, "union_members")] = lambda m: union_members(it, m)
    P[(H, "is_schema")] = lambda s: TRUE
    # hocon_schema helpers sometimes used by schema code
    HS = "hocon_schema"
    P[(HS, "field_schema")] = lambda s, k: field_schema(it, s, str(k))
    P[(HS, "fields")] = lambda m, n: struct_fields(it, m, n)
    P[(HS, "roots")] = lambda m: EList(ETuple((ebin(root_name(r)), ETuple((r[0], r[1]) if type(r) is ETuple else (r, ETuple((Atom("ref"), m, r)))))) for r in it.call_mfa(m, "roots", []))
    P[(HS, "root_names")] = lambda m: EList(ebin(root_name(r)) for r in it.call_mfa(m, "roots", []))
    P[(HS, "validations")] = lambda m: NIL
    P[(HS, "namespace")] = lambda m: it.call_mfa(m, "namespace", []) if it.exported(m, "namespace", 0) else UNDEFINED
    P[(HS, "is_deprecated")] = lambda s: ebool(field_schema(it, s, "deprecated") not in (UNDEFINED, FALSE))
    P[(HS, "override")] = lambda base, over: PyFun(
        lambda k: field_schema(it, over, str(k)) if k in over else field_schema(it, base, str(k)), 1)
    P[(HS, "deep_merge")] = lambda a, b: _mmerge(a, b)
    P[("hocon_schema_builtin", "is_schema")] = lambda s: TRUE
    it.py_mfa = P


def _mput(m, k, v):
    if type(m) is not EMap:
        erl_error(ETuple((Atom("badmap"), m)))
    out = EMap(m)
    out[k] = v
    return out


def _mmerge(a, b):
    if type(a) is not EMap or type(b) is not EMap:
        erl_error(ETuple((Atom("badmap"), a if type(a) is not EMap else b)))
    out = EMap(a)
    out.update(b)
    return out


def _groups(call, f, l):
    out = EMap()
    for x in l:
        k = call(f, x)
        out[k] = EList(tuple(out.get(k, NIL)) + (x,))
    return out


def int_to_base(i, base):
    if base == 10:
        return str(i)
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if i == 0:
        return "0"
    neg = i < 0
    i = abs(i)
    out = ""
    while i:
        out = digits[i % base] + out
        i //= base
    return ("-" if neg else "") + out


def erl_format(fmt, args):
    out = []
    i = 0
    ai = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "~":
            d = fmt[i + 1]
            i += 2
            if d == "n":
                out.append("\n")
                continue
            if d == "~":
                out.append("~")
                continue
            a = args[ai] if ai < len(args) else None
            ai += 1
            if d in "sp" or d in "wtP":
                try:
                    out.append(to_text(a) if d == "s" else repr(a))
                except TypeError:
                    out.append(repr(a))
            else:
                out.append(str(a))
            continue
        out.append(c)
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------------
# hocon_schema semantics (emqx/hocon src/hocon_schema.erl, find_structs/2)
# ---------------------------------------------------------------------------


def union_members(it, m):
    if type(m) is EList:
        return m
    if is_fun(m):
        return union_members(it, it.apply_fun(m, [Atom("all_union_members")]))
    # a single type returned by a selector
    return EList([m])


def is_typerefl(t):
    return type(t) is ETuple and len(t) >= 1 and t[0] == Atom("$type_refl")


def is_map_type(t):
    name = str(t[1])
    if name == "map":
        return True
    if name == "alias" and t[2] and type(t[2][0]) is EList and to_text(t[2][0]) == "map":
        return True
    return False


def field_schema(it, fs, key):
    if type(fs) is Atom:
        return fs if key == "type" else UNDEFINED
    if type(fs) is EMap:
        return fs.get(Atom(key), UNDEFINED)
    if is_fun(fs):
        return it.apply_fun(fs, [Atom(key)])
    # a bare type
    return fs if key == "type" else UNDEFINED


def struct_fields(it, mod, name):
    r = it.call_mfa(mod, "fields", [name])
    if type(r) is EMap:
        r = r[Atom("fields")]
    return r


def root_name(r):
    if type(r) is ETuple:
        return to_text(r[0])
    return to_text(r)


class Walker:
    def __init__(self, it):
        self.it = it
        self.keys = defaultdict(list)  # path -> list of flag sets
        self.errors = []  # (path, module, struct, error)
        self.struct_cache = {}

    def emit(self, path, flags):
        self.keys[path].append(frozenset(flags))

    def fields_of(self, mod, name):
        ck = (str(mod), name)
        if ck in self.struct_cache:
            r = self.struct_cache[ck]
        else:
            try:
                r = ("ok", struct_fields(self.it, mod, name))
            except (ErlError, RecursionError) as e:
                r = ("err", e)
            self.struct_cache[ck] = r
        if r[0] == "err":
            raise r[1]
        return r[1]

    def walk_roots(self, mod):
        try:
            roots = self.it.call_mfa(mod, "roots", [])
        except ErlError as ex:
            raise SystemExit("%s:roots() failed: %s\n  erlang trace: %s" % (mod, ex, " <- ".join(getattr(ex, "etrace", []))))
        for r in roots:
            if type(r) is ETuple:
                fname, fs = r[0], r[1]
            else:
                fname, fs = r, ETuple((Atom("ref"), Atom(mod), r))
            self.walk_field(str(mod), fname, fs, "", frozenset(), (), None)

    def walk_field(self, mod, fname, fs, prefix, inherited, stack, alias_base):
        name = to_text(fname)
        path = prefix + name
        it = self.it
        try:
            typ = field_schema(it, fs, "type")
            dep = field_schema(it, fs, "deprecated")
            imp = field_schema(it, fs, "importance")
            aliases = field_schema(it, fs, "aliases")
        except ErlError as e:
            self.errors.append((path, mod, name, str(e)))
            return
        flags = set(inherited)
        if dep not in (UNDEFINED, FALSE):
            flags.add("deprecated")
        if imp == Atom("hidden"):
            flags.add("hidden")
        flags = frozenset(flags)
        self.emit_with_alias(path, flags, alias_base)
        self.walk_type(mod, typ, path, flags, stack, alias_base)
        if aliases not in (UNDEFINED, NIL) and type(aliases) is EList:
            for a in aliases:
                apath = prefix + to_text(a)
                self.emit(apath, flags | {"alias-of=" + self.canonical(path, alias_base)})
                self.walk_type(mod, typ, apath, flags, stack, (apath, self.canonical(path, alias_base)))

    def canonical(self, path, alias_base):
        if alias_base is None:
            return path
        apath, cpath = alias_base
        assert path.startswith(apath)
        return cpath + path[len(apath):]

    def emit_with_alias(self, path, flags, alias_base):
        if alias_base is None:
            self.emit(path, flags)
        else:
            self.emit(path, flags | {"alias-of=" + self.canonical(path, alias_base)})

    def walk_type(self, mod, t, path, flags, stack, alias_base):
        it = self.it
        if type(t) is EList and t and all(type(c) is int for c in t):
            t = ETuple((Atom("ref"), t))
        if type(t) is not ETuple or not t:
            return
        tag = t[0]
        if tag == Atom("ref"):
            if len(t) == 2:
                rmod, rname = mod, t[1]
            else:
                rmod, rname = str(t[1]), t[2]
            key = (rmod, rname)
            if key in stack:
                return
            try:
                fields = self.fields_of(rmod, rname)
                if type(fields) is not EList:
                    raise ErlError(Atom("error"), ETuple((Atom("bad_fields"), fields)))
            except (ErlError, RecursionError) as e:
                self.errors.append((path, rmod, repr(rname), str(e)[:500]))
                return
            for fld in fields:
                if type(fld) is not ETuple or len(fld) != 2:
                    self.errors.append((path, rmod, repr(rname), "bad field %r" % (fld,)))
                    continue
                self.walk_field(rmod, fld[0], fld[1], path + ".", flags, stack + (key,), alias_base)
            return
        if tag == Atom("lazy"):
            return self.walk_type(mod, t[1], path, flags, stack, alias_base)
        if tag == Atom("array"):
            inner = t[1]
            if self.has_struct(mod, inner):
                p = path + "[]"
                return self.walk_type(mod, inner, p, flags, stack, alias_base)
            return
        if tag == Atom("union"):
            try:
                members = union_members(it, t[1])
            except ErlError as e:
                self.errors.append((path, mod, "union", str(e)[:500]))
                return
            for m in members:
                if type(m) is Atom and self.struct_exists(mod, m):
                    # hocon treats a bare atom as a singleton type; but
                    # selectors like emqx_message_transformation_schema's
                    # payload_serde_member_selector/1 list struct names for
                    # all_union_members and return ref(Name) for real values.
                    m = ETuple((Atom("ref"), m))
                self.walk_type(mod, m, path, flags, stack, alias_base)
            return
        if tag == Atom("map"):
            p = path + ".<name>"
            self.emit_with_alias(p, flags, alias_base)
            return self.walk_type(mod, t[2], p, flags, stack, alias_base)
        if is_typerefl(t) and is_map_type(t):
            # free-form map value (e.g. HTTP headers): any sub key is accepted
            self.emit_with_alias(path + ".<name>", flags, alias_base)
        # enum, typerefl, singleton atoms: leaf

    def struct_exists(self, mod, name):
        try:
            return type(self.fields_of(mod, name)) is EList
        except (ErlError, RecursionError):
            return False

    def has_struct(self, mod, t):
        """Does an array element type contain a struct (so that `[]` paths exist)?"""
        if type(t) is EList and t and all(type(c) is int for c in t):
            return True
        if type(t) is not ETuple or not t:
            return False
        tag = t[0]
        if tag == Atom("ref"):
            return True
        if tag in (Atom("lazy"), Atom("array")):
            return self.has_struct(mod, t[1])
        if tag == Atom("map"):
            return True
        if tag == Atom("union"):
            try:
                return any(self.has_struct(mod, m) for m in union_members(self.it, t[1]))
            except ErlError:
                return False
        return False

    def result(self):
        out = {}
        for path, fsets in self.keys.items():
            flags = set()
            for f in ("deprecated", "hidden"):
                if all(f in s for s in fsets):
                    flags.add(f)
            aliases = set()
            if all(any(x.startswith("alias-of=") for x in s) for s in fsets):
                for s in fsets:
                    aliases |= {x for x in s if x.startswith("alias-of=")}
            flags |= aliases
            out[path] = flags
        return out


def fmt_flags(flags):
    if not flags:
        return "-"
    order = {"deprecated": 0, "hidden": 1}
    return ",".join(sorted(flags, key=lambda f: (order.get(f, 2), f)))


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


ROOT_SCHEMA = {"ce": "emqx_conf_schema", "ee": "emqx_enterprise_schema"}


def extract(git_dir, tag, edition, verbose=False):
    warnings = set()
    src = Source(git_dir, tag)
    it = Interp(src, edition, warnings)
    w = Walker(it)
    root = ROOT_SCHEMA[edition]
    if src.modules.get(root) is None:
        root = "emqx_conf_schema"
    w.walk_roots(root)
    keys = w.result()
    info = {
        "commit": src.commit,
        "errors": w.errors,
        "warnings": sorted(warnings),
        "unknown_calls": dict(it.unknown_calls),
        "root": root,
        "roots": sorted({k.split(".")[0].split("[")[0] for k in keys}),
    }
    return keys, info


SELF_CHECK_PRESENT = [
    "node.cookie",
    "node.name",
    "listeners.ssl.<name>.ssl_options.verify",
    "listeners.tcp.<name>.bind",
    "mqtt.max_packet_size",
    "authorization.no_match",
    "authorization.sources[].type",
    "authentication[].mechanism",
    "authentication[].password_hash_algorithm.name",
    "dashboard.default_password",
    "prometheus.enable_basic_auth",
    "log.console.level",
]
SELF_CHECK_ABSENT = [
    "listener.ssl.external.certfile",
    "allow_anonymous",
    "zone.external.allow_anonymous",
]


# ---------------------------------------------------------------------------
# Cross-check against the HOCON config examples shipped in the same tag
# ---------------------------------------------------------------------------


def hocon_tokens(text):
    toks = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            toks.append(("nl", None))
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith('"""', i):
            j = text.index('"""', i + 3)
            toks.append(("str", text[i + 3:j]))
            i = j + 3
        elif c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            toks.append(("str", text[i + 1:j]))
            i = j + 1
        elif text.startswith("+=", i):
            toks.append(("p", "+="))
            i += 2
        elif c in "{}[]=:,":
            toks.append(("p", c))
            i += 1
        elif text.startswith("${", i):
            j = text.index("}", i)
            toks.append(("word", text[i:j + 1]))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in " \t\r\n{}[]=:,\"#" and not text.startswith("//", j) and not text.startswith("${", j):
                j += 1
            toks.append(("word", text[i:j]))
            i = j
    return toks


def hocon_keys(text):
    """Flatten a HOCON document into key paths (arrays of objects as `[]`)."""
    toks = hocon_tokens(text)
    out = set()
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else ("eof", None)

    def skip_seps():
        while peek()[0] == "nl" or peek() == ("p", ","):
            pos[0] += 1

    def obj(prefix, closer):
        while True:
            skip_seps()
            t = peek()
            if t[0] == "eof" or t == ("p", closer):
                pos[0] += 1
                return
            segs = []
            while peek()[0] in ("word", "str"):
                kind, v = peek()
                pos[0] += 1
                if kind == "word":
                    if v == "include":
                        segs = None
                        break
                    parts = v.split(".")
                    if segs and parts[0] == "":
                        parts = parts[1:]
                    segs.extend(p for p in parts if p != "")
                else:
                    segs.append(v)
            if segs is None:
                # include "file": skip
                while peek()[0] not in ("nl", "eof"):
                    pos[0] += 1
                continue
            path = prefix + ".".join(segs)
            if peek() in (("p", "="), ("p", ":"), ("p", "+=")):
                pos[0] += 1
            value(path)

    def value(path):
        out.add(path)
        while peek()[0] == "nl":
            pos[0] += 1
        t = peek()
        if t == ("p", "{"):
            pos[0] += 1
            obj(path + ".", "}")
            return
        if t == ("p", "["):
            pos[0] += 1
            while True:
                skip_seps()
                t = peek()
                if t == ("p", "]") or t[0] == "eof":
                    pos[0] += 1
                    return
                if t == ("p", "{"):
                    pos[0] += 1
                    obj(path + "[].", "}")
                else:
                    while peek()[0] not in ("nl", "eof") and peek() not in (("p", ","), ("p", "]")):
                        pos[0] += 1
        while peek()[0] not in ("nl", "eof") and peek() not in (("p", ","), ("p", "}")):
            pos[0] += 1

    obj("", None)
    return out


def key_matches(keys_by_len, path):
    segs = path.split(".")
    cands = keys_by_len.get(len(segs), ())
    for k in cands:
        ks = k
        ok = True
        for a, b in zip(ks, segs):
            if a == b:
                continue
            if a.startswith("<") and (b == a or not b.startswith("<")):
                bb = b
                if a.endswith("[]"):
                    if not bb.endswith("[]"):
                        ok = False
                        break
                continue
            ok = False
            break
        if ok:
            return True
    return False


def check_examples(git_dir, tag, edition, keys):
    src = Source(git_dir, tag)
    by_len = defaultdict(list)
    for k in keys:
        by_len[len(k.split("."))].append(tuple(k.split(".")))
    # prefer literal matches: sort so that fewer placeholders come first
    for v in by_len.values():
        v.sort(key=lambda ks: (sum(s.startswith("<") for s in ks), ks))
    # rel/config/examples/*.example, and the pieces scripts/merge-config.escript
    # concatenates into the shipped etc/emqx.conf (apps/*/etc/emqx*.conf)
    files = sorted(f for f in src.files if (
        f.startswith("rel/config/examples/") and f.endswith(".example")) or re.match(
        r"apps/[^/]+/etc/emqx[^/]*\.conf$", f) or f == "apps/emqx_conf/etc/base.hocon")
    if edition == "ee":
        files += sorted(f for f in src.files if f.startswith("rel/config/ee-examples/"))
    missing = []
    for f in files:
        for path in sorted(hocon_keys(src.read(f))):
            if not key_matches(by_len, path):
                missing.append((f, path))
    return files, missing


def self_check(keys, tag, edition):
    problems = []
    for k in SELF_CHECK_PRESENT:
        if k not in keys:
            problems.append("expected key missing: " + k)
    for k in SELF_CHECK_ABSENT:
        if k in keys:
            problems.append("unexpected key present: " + k)
    m = re.match(r"[ve](\d+)\.(\d+)", tag)
    if m:
        vt = (int(m.group(1)), int(m.group(2)))
        if vt >= (5, 8):
            for k in ("durable_sessions.enable", "connectors.mqtt.<name>.server",
                      "actions.mqtt.<name>.parameters.topic", "sources.mqtt.<name>.parameters.topic"):
                if k not in keys:
                    problems.append("expected key missing: " + k)
        if vt == (5, 8):
            if "log.console_handler" not in keys or "alias-of=log.console" not in keys["log.console_handler"]:
                problems.append("log.console_handler should be an alias of log.console")
            for k in ("listeners.tcp.<name>.max_conn_rate", "listeners.tcp.<name>.messages_rate",
                      "listeners.tcp.<name>.bytes_rate", "mqtt.keepalive_multiplier",
                      "mqtt.server_keepalive", "mqtt.peer_cert_as_username",
                      "listeners.ssl.<name>.enable_authn"):
                if k not in keys:
                    problems.append("expected key missing: " + k)
            if edition == "ce" and "opentelemetry.exporter.endpoint" in keys:
                problems.append("opentelemetry is an enterprise-only root in 5.8")
    return problems


def write_table(keys, out, tag, commit, edition, info):
    lines = [
        "# generated by scripts/emqx-key-table.py from emqx/emqx %s (%s)" % (tag, commit),
        "# edition: %s (root schema module %s); one line per schema field: path<TAB>flags" % (edition, info["root"]),
        "# flags: - | comma list of deprecated, hidden, alias-of=CANONICAL_PATH;"
        " <name> = any map key, [] = array element",
    ]
    for k in sorted(keys):
        lines.append("%s\t%s" % (k, fmt_flags(keys[k])))
    data = "\n".join(lines) + "\n"
    if out == "-":
        sys.stdout.write(data)
    else:
        with open(out, "w") as f:
            f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("git_dir")
    ap.add_argument("tag")
    ap.add_argument("--hocon-git", required=True, help="bare git dir of github.com/emqx/hocon")
    ap.add_argument("--typerefl-git", required=True, help="bare git dir of github.com/ieQu1/typerefl")
    ap.add_argument("--edition", default=None, help="ce or ee (default: ce for v* tags, ee for e* tags)")
    ap.add_argument("-o", "--out", default="-")
    ap.add_argument("--compare", action="append", default=[],
                    help="LABEL=TAG[:EDITION] releases to diff against (writes --other-out)")
    ap.add_argument("--other-out", default=None)
    ap.add_argument("--report", action="store_true", help="print extraction diagnostics to stderr")
    ap.add_argument("--no-check", action="store_true")
    a = ap.parse_args()
    for dep, git_dir in (("hocon", a.hocon_git), ("typerefl", a.typerefl_git)):
        EXTERNAL_REPOS[dep] = (git_dir, pinned_tag(a.git_dir, a.tag, dep))
    edition = a.edition or ("ee" if a.tag.startswith("e") else "ce")
    keys, info = extract(a.git_dir, a.tag, edition)
    report(a.tag, edition, keys, info, a.report)
    if not a.no_check:
        problems = self_check(keys, a.tag, edition)
        files, missing = check_examples(a.git_dir, a.tag, edition, keys)
        for f, path in missing:
            problems.append("key %s of %s:%s is not in the table" % (path, a.tag, f))
        if info["errors"]:
            problems.append("%d struct(s) could not be evaluated (see --report)" % len(info["errors"]))
        if problems:
            for p in problems:
                print("SELF-CHECK FAILED: " + p, file=sys.stderr)
            sys.exit(1)
    write_table(keys, a.out, a.tag, info["commit"], edition, info)
    if a.compare:
        other = defaultdict(list)
        labels = []
        for spec in a.compare:
            label, _, rest = spec.partition("=")
            otag, _, oed = rest.partition(":")
            oed = oed or ("ee" if otag.startswith("e") else "ce")
            okeys, oinfo = extract(a.git_dir, otag, oed)
            report(otag, oed, okeys, oinfo, a.report)
            if not a.no_check:
                problems = self_check(okeys, otag, oed)
                if oinfo["errors"]:
                    problems.append("%d struct(s) could not be evaluated" % len(oinfo["errors"]))
                if problems:
                    for p in problems:
                        print("SELF-CHECK FAILED (%s): %s" % (otag, p), file=sys.stderr)
                    sys.exit(1)
            labels.append((label, otag, oed, oinfo["commit"]))
            for k in okeys:
                if k not in keys:
                    other[k].append(label)
        lines = [
            "# generated by scripts/emqx-key-table.py: keys of other EMQX releases that the target"
            " %s (%s, edition %s) does not have" % (a.tag, info["commit"], edition),
        ]
        for label, otag, oed, ocommit in labels:
            lines.append("# %s = emqx/emqx %s (%s), edition %s" % (label, otag, ocommit, oed))
        lines.append("# EMQX 4.x keys (listener.tcp.external.*, zone.*, ...) are out of scope:"
                     " they are detected separately")
        lines.append("# format: path<TAB>comma list of releases that have it")
        for k in sorted(other):
            lines.append("%s\t%s" % (k, ",".join(other[k])))
        with open(a.other_out, "w") as f:
            f.write("\n".join(lines) + "\n")


def report(tag, edition, keys, info, verbose):
    flags = keys.values()
    print("%s (%s, %s): %d keys, %d deprecated, %d hidden, %d aliases; %d errors; roots: %s" % (
        tag, edition, info["commit"][:12], len(keys),
        sum("deprecated" in f for f in flags), sum("hidden" in f for f in flags),
        sum(any(x.startswith("alias-of=") for x in f) for f in flags),
        len(info["errors"]), " ".join(info["roots"])), file=sys.stderr)
    if verbose:
        for e in info["errors"]:
            print("  ERROR at %s: %s %s: %s" % e, file=sys.stderr)
        for w in info["warnings"]:
            print("  warning: " + w, file=sys.stderr)
        for c, n in sorted(info["unknown_calls"].items()):
            print("  unknown call %s x%d" % (c, n), file=sys.stderr)


if __name__ == "__main__":
    sys.setrecursionlimit(200000)
    threading.stack_size(512 * 1024 * 1024)
    rc = [0]

    def run():
        try:
            main()
        except SystemExit as e:
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
            rc[0] = e.code if isinstance(e.code, int) else 1

    t = threading.Thread(target=run)
    t.start()
    t.join()
    sys.exit(rc[0])
