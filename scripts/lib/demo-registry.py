#!/usr/bin/env python3
"""A minimal stand-in for Confluent's schema registry, for `make demo AVRO=1` only: it keeps subjects, versions and
ids in memory and answers the requests the connector and scripts/lib/avro-read.py make (register, look up, a schema
by id, a subject's latest version, the compatibility level). No compatibility checks. Prints its URL, then serves."""
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

lock = threading.Lock()
ids = {}       # schema text -> id
versions = {}  # subject -> [schema text, ...]


class Registry(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def schema(self):
        length = int(self.headers.get("Content-Length", 0))
        return json.loads(self.rfile.read(length) or b"{}").get("schema")

    def do_POST(self):
        with lock:
            if m := re.fullmatch(r"/subjects/([^/]+)/versions", self.path):
                subject, schema = unquote(m[1]), self.schema()
                ids.setdefault(schema, len(ids) + 1)
                if schema not in versions.setdefault(subject, []):
                    versions[subject].append(schema)
                return self.answer(200, {"id": ids[schema]})
            if m := re.fullmatch(r"/subjects/([^/]+)", self.path):
                subject, schema = unquote(m[1]), self.schema()
                if schema not in versions.get(subject, []):
                    return self.answer(404, {"error_code": 40403, "message": "Schema not found"})
                return self.answer(200, {"subject": subject, "id": ids[schema], "schema": schema,
                                         "version": versions[subject].index(schema) + 1})
        self.answer(404, {"error_code": 404, "message": "not found"})

    def do_GET(self):
        with lock:
            if m := re.fullmatch(r"/schemas/ids/(\d+)", self.path):
                for schema, number in ids.items():
                    if number == int(m[1]):
                        return self.answer(200, {"schema": schema})
            if m := re.fullmatch(r"/subjects/([^/]+)/versions/latest", self.path):
                subject = unquote(m[1])
                if versions.get(subject):
                    schema = versions[subject][-1]
                    return self.answer(200, {"subject": subject, "version": len(versions[subject]),
                                             "id": ids[schema], "schema": schema})
            if self.path == "/config":
                return self.answer(200, {"compatibilityLevel": "NONE"})
        self.answer(404, {"error_code": 40401, "message": "not found"})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
print(f"http://127.0.0.1:{server.server_port}", flush=True)
server.serve_forever()
