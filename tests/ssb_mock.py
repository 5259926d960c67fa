"""A fake SSB PxWebApi v2 for tests: serves the fixtures in ``fixtures/ssb`` offline.

``FakeSsb().transport`` is an ``httpx.MockTransport``. The metadata endpoint answers with
``<table>_metadata.json``; the data endpoint slices ``<table>_data.json`` to the POSTed
selection, as SSB does (a JSON-stat2 dataset of the selected codes, status re-indexed),
and refuses queries over the cell limit with 403. ``script`` queues canned answers (or
exceptions) that are used before the fixtures, to test retries and errors.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ssb"


class FakeSsb:
    def __init__(self, max_cells: int = 800_000) -> None:
        self.max_cells = max_cells
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.script: list[httpx.Response | Exception] = []

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, request.url.path, dict(request.url.params), body))
        if self.script:
            answer = self.script.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        match = re.search(r"/tables/(\w+)/(metadata|data)$", request.url.path)
        if not match:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        table, endpoint = match.groups()
        path = FIXTURES / f"{table}_{'metadata' if endpoint == 'metadata' else 'data'}.json"
        if not path.is_file():
            return httpx.Response(
                404, json={"type": "about:blank", "title": "Not Found", "status": 404,
                           "detail": f"No table with id {table}"},
            )  # fmt: skip
        doc = json.loads(path.read_text("utf-8"))
        if endpoint == "metadata":
            return httpx.Response(200, json=doc)
        if request.method != "POST" or body is None:
            return httpx.Response(400, json={"title": "Bad Request", "detail": "POST expected"})
        return self._slice(doc, body)

    def _slice(self, doc: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        chosen = {s["variableCode"]: s["valueCodes"] for s in body["selection"]}
        unknown = [d for d in chosen if d not in doc["id"]]
        if unknown:
            return httpx.Response(
                400, json={"title": "Bad Request", "detail": f"Unknown variable(s) {unknown}"}
            )
        cells = math.prod(len(codes) for codes in chosen.values())
        if cells > self.max_cells:
            return httpx.Response(
                403, json={"title": "Forbidden", "detail": f"Too many cells selected ({cells})"}
            )
        sizes = doc["size"]
        values = np.array([np.nan if v is None else v for v in doc["value"]], dtype=float)
        status = np.full(len(values), "", dtype=object)
        for key, symbol in (doc.get("status") or {}).items():
            status[int(key)] = symbol
        values, status = values.reshape(sizes), status.reshape(sizes)
        ids, dims, index = [], {}, []
        for dim in doc["id"]:
            spec = doc["dimension"][dim]
            codes = list(spec["category"]["index"])
            if dim not in chosen:
                if not spec["extension"]["elimination"]:
                    return httpx.Response(
                        400, json={"title": "Bad Request", "detail": f"{dim} must be selected"}
                    )
                index.append([0])  # eliminated: the fixtures' first category is the total
                continue
            missing = [c for c in chosen[dim] if c not in codes]
            if missing:
                return httpx.Response(
                    400, json={"title": "Bad Request", "detail": f"Unknown value(s) {missing}"}
                )
            ids.append(dim)
            index.append([codes.index(c) for c in chosen[dim]])
            dims[dim] = {
                **spec,
                "category": {
                    **spec["category"],
                    "index": {c: i for i, c in enumerate(chosen[dim])},
                    "label": {c: spec["category"]["label"][c] for c in chosen[dim]},
                },
            }
        sub_values = values[np.ix_(*index)].reshape(-1)
        sub_status = status[np.ix_(*index)].reshape(-1)
        out = {k: v for k, v in doc.items() if k not in ("value", "status")}
        out.update(
            id=ids,
            size=[len(chosen[d]) for d in ids],
            dimension=dims,
            value=[None if np.isnan(v) else (int(v) if v == int(v) else float(v))
                   for v in sub_values],
        )  # fmt: skip
        marked = {str(i): s for i, s in enumerate(sub_status) if s}
        if marked:
            out["status"] = marked
        return httpx.Response(200, json=out)


def fixture_doc(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text("utf-8"))
