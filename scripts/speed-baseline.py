#!/usr/bin/env python3
"""The comparison for `cargo bench --bench tool_speed`: what a hand-written
Python generator costs for only a part of mqttforge's work. It loads the spec
with PyYAML and renders the firmware header template (the same file
mqttforge uses) once per listed device with Jinja2, writing one file each.
No validation, no other artifact, no escaping beyond the two filters the
template needs.

usage: speed-baseline.py SPEC TEMPLATE OUT_DIR
"""
import os
import sys

import jinja2
import yaml


def c_str(value):
    out = ['"']
    for ch in str(value):
        if ch in '"\\?':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) > 126:
            out.extend("\\%03o" % b for b in ch.encode())
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def comment(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace("*/", "*\\/")


def main():
    spec_path, template_path, out_dir = sys.argv[1:4]
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["c_str"] = c_str
    env.filters["comment"] = comment
    with open(template_path) as f:
        template = env.from_string(f.read())
    roles = spec.get("roles", {})
    os.makedirs(out_dir, exist_ok=True)
    for device in spec.get("devices", []):
        if "id" not in device:
            continue
        role = device["role"]
        publish, subscribe = [], []
        for i, grant in enumerate(roles.get(role, [])):
            for kind, topic in grant.items():
                parts = str(topic).split("{id}")
                entry = {"name": f"T{i}", "parts": parts}
                (publish if kind == "write" else subscribe).append(entry)
        text = template.render(
            role=role, profile=device.get("firmware", ""), site=spec["site"],
            guard="MQTT_CONFIG_H", fixed_id=device["id"], version="2.1.0",
            host="mqtt.example", port=8883, tls=True, keepalive_s=60,
            publish=publish, subscribe=subscribe, status=None,
            offline_payload="offline", online_payload="online",
            backoff={"initial": 1000, "max": 300000, "jitter": 1000},
            max_payload=4096, buffer=4352,
        )
        with open(os.path.join(out_dir, device["id"] + ".h"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
