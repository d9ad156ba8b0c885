#!/usr/bin/env python3
"""Reads Confluent wire-format records (kcat -f '%t\\n%K\\n%k%S\\n%s' output on stdin), fetches each schema from the
registry by its id, and prints topic, key and value as JSON lines: what `kcat -s avro -r <registry>` shows where kcat
is built with Avro (Debian's is not). For `make demo AVRO=1`."""
import base64
import json
import struct
import sys
import urllib.request

registry = sys.argv[1]
schemas = {}


def schema(number):
    if number not in schemas:
        with urllib.request.urlopen(f"{registry}/schemas/ids/{number}") as answer:
            schemas[number] = json.loads(json.load(answer)["schema"])
    return schemas[number]


class Reader:
    def __init__(self, data, s):
        self.data, self.at, self.named = data, 0, {}
        self.define(s, None)

    def define(self, s, space):
        """Notes every named record first: a reference may come before its definition's branch is taken."""
        if isinstance(s, list):
            for branch in s:
                self.define(branch, space)
        elif isinstance(s, dict):
            if s.get("type") == "record":
                full = s["name"] if "." in s["name"] else f"{s.get('namespace', space)}.{s['name']}"
                self.named[full] = s
                for f in s["fields"]:
                    self.define(f["type"], full.rsplit(".", 1)[0])
            for part in ("items", "values"):
                if part in s:
                    self.define(s[part], space)

    def long(self):
        shift = result = 0
        while True:
            byte = self.data[self.at]
            self.at += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7

    def raw(self, count):
        self.at += count
        return self.data[self.at - count:self.at]

    def value(self, s, space=None):
        if isinstance(s, list):
            return self.value(s[self.long()], space)
        if isinstance(s, str):
            if s == "null": return None
            if s == "boolean": return self.raw(1) == b"\x01"
            if s in ("int", "long"): return self.long()
            if s == "float": return struct.unpack("<f", self.raw(4))[0]
            if s == "double": return struct.unpack("<d", self.raw(8))[0]
            if s == "bytes": return base64.b64encode(self.raw(self.long())).decode()
            if s == "string": return self.raw(self.long()).decode()
            return self.value(self.named.get(s) or self.named[f"{space}.{s}"], space)
        kind = s["type"]
        if kind == "record":
            full = s["name"] if "." in s["name"] else f"{s.get('namespace', space)}.{s['name']}"
            self.named[full] = s
            inner = full.rsplit(".", 1)[0]
            return {f["name"]: self.value(f["type"], inner) for f in s["fields"]}
        if kind in ("array", "map"):
            items = []
            while (count := self.long()) != 0:
                if count < 0:
                    count = -count
                    self.long()
                for _ in range(count):
                    items.append((self.raw(self.long()).decode(), self.value(s["values"], space)) if kind == "map"
                                 else self.value(s["items"], space))
            return dict(items) if kind == "map" else items
        return self.value(kind, space)


def decode(data):
    if not data:
        return None
    magic, number = struct.unpack(">bI", data[:5])
    return Reader(data[5:], schema(number)).value(schema(number))


stream = sys.stdin.buffer
while line := stream.readline():
    topic = line.decode().strip()
    key_length = int(stream.readline())
    key = stream.read(key_length) if key_length > 0 else b""
    value_length = int(stream.readline())
    value = stream.read(value_length) if value_length > 0 else b""
    stream.readline()
    print(json.dumps({"topic": topic, "key": decode(key), "value": decode(value)}))
