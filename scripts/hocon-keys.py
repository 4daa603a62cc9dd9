#!/usr/bin/env python3
"""A second, independent HOCON parser (pyhocon, from PyPI) over a file:
prints one JSON object {"path": ["s", "text"] | ["o", "repr"]} with every
leaf, objects inside arrays included (their paths use `[]`, as
src/formats/emqx/emqx-5.8.keys does): "s" for a value pyhocon reads as a
string, "o" for anything it converts (numbers, booleans, durations). Substitutions are not resolved: mqttforge writes
none, and a quoted `${...}` must stay a literal.
usage: hocon-keys.py FILE (also run by `mqttforge verify` on EMQX sites)"""
import json
import sys

from pyhocon import ConfigFactory, ConfigTree


def leaves(value, path, out):
    if isinstance(value, ConfigTree):
        for key, child in value.items():
            leaves(child, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list) and any(isinstance(v, ConfigTree) for v in value):
        for child in value:
            leaves(child, f"{path}[]", out)
    else:
        out[path] = ["s", value] if isinstance(value, str) else ["o", repr(value)]


tree = ConfigFactory.parse_file(sys.argv[1], resolve=False)
result = {}
leaves(tree, "", result)
print(json.dumps(result, sort_keys=True))
