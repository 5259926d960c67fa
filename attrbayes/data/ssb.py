"""A client for Statistics Norway's PxWebApi v2 (``https://data.ssb.no/api/pxwebapi/v2/``).

Endpoints used (SSB's user guide "API mot Statistikkbanken", PxApiSpecs):

* ``GET  tables/{id}/metadata?lang=no&outputFormat=json-stat2`` -- the table's dimensions,
  their value codes and labels, the ``updated`` stamp; JSON-stat2 with an empty ``value``;
* ``POST tables/{id}/data?lang=no&outputFormat=json-stat2`` with the body
  ``{"selection": [{"variableCode": "Region", "valueCodes": ["0301", ...]}, ...]}`` --
  the same selection as the GET form ``valueCodes[Region]=0301,...``, without GET's limit
  of about 2,100 characters on the URL.

SSB's limits: 800,000 cells per request (HTTP 403 above it) and 30 requests per 60 seconds
per IP address (HTTP 429). :class:`SsbClient` counts a query's cells from the metadata and
splits it (:func:`split_selection`) so that every request stays under the limit, spaces its
requests with a :class:`RateLimiter`, retries 429/5xx answers and timeouts with backoff, and
keeps every raw response on disk (:class:`ResponseCache`): a repeated query is answered from
the cache without a request. JSON-stat2 answers become long frames
(:func:`parse_jsonstat2`) with SSB's status symbols kept beside the values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from attrbayes import __version__
from attrbayes.exceptions import DataError
from attrbayes.io_utils import atomic_write_bytes

BASE_URL = "https://data.ssb.no/api/pxwebapi/v2/"
MAX_CELLS = 800_000  # SSB: cells per request
MAX_CALLS = 30  # SSB: requests per time window and IP address
TIME_WINDOW = 60.0  # seconds
# SSB's status symbols (json-stat2 "status"; the value is null where one is set).
STATUS = {
    ".": "cannot occur",
    "..": "not available",
    "...": "not yet published",
    ":": "confidential",
    "-": "nil",
}

Selection = Mapping[str, Sequence[str]]


class SsbFetchError(DataError):
    """A request to SSB failed: network error, HTTP error or an unreadable answer."""


# ---------------------------------------------------------------------------------------
# rate limiting and query splitting
# ---------------------------------------------------------------------------------------
class RateLimiter:
    """At most ``max_calls`` calls in any ``window`` seconds (a sliding window).

    ``clock`` and ``sleep`` are injectable so that tests run instantly with a fake clock.
    """

    def __init__(
        self,
        max_calls: int = MAX_CALLS,
        window: float = TIME_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_calls < 1 or window <= 0:
            raise ValueError("max_calls must be >= 1 and window > 0")
        self.max_calls = max_calls
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._calls: list[float] = []

    def acquire(self) -> float:
        """Wait until a call is allowed, record it and return the seconds waited."""
        waited = 0.0
        while True:
            now = self._clock()
            self._calls = [t for t in self._calls if now - t < self.window]
            if len(self._calls) < self.max_calls:
                self._calls.append(now)
                return waited
            pause = self.window - (now - self._calls[0])
            self._sleep(pause)
            waited += pause


def count_cells(selection: Selection) -> int:
    """Cells a selection asks for: the product of the number of codes per dimension."""
    return math.prod(len(codes) for codes in selection.values())


def split_selection(
    selection: Selection, max_cells: int = MAX_CELLS, order: Sequence[str] | None = None
) -> list[dict[str, tuple[str, ...]]]:
    """Split a selection into disjoint chunks of at most ``max_cells`` cells each.

    The union of the chunks' cells is exactly the selection's. Dimensions are cut in
    ``order`` (default: the largest first); each is cut into as few pieces as possible
    before the next one is touched.
    """
    if max_cells < 1:
        raise ValueError("max_cells must be >= 1")
    full = {dim: tuple(codes) for dim, codes in selection.items()}
    empty = [dim for dim, codes in full.items() if not codes]
    if empty:
        raise DataError(f"selection has no codes for dimension(s) {empty}")
    order = list(order) if order is not None else sorted(full, key=lambda d: -len(full[d]))
    order += [d for d in sorted(full, key=lambda d: -len(full[d])) if d not in order]
    return _split(full, max_cells, order)


def _split(
    sel: dict[str, tuple[str, ...]], max_cells: int, order: list[str]
) -> list[dict[str, tuple[str, ...]]]:
    if count_cells(sel) <= max_cells:
        return [sel]
    dim = next(d for d in order if len(sel[d]) > 1)
    rest = count_cells(sel) // len(sel[dim])
    step = max(1, max_cells // rest)
    chunks = []
    for start in range(0, len(sel[dim]), step):
        piece = {**sel, dim: sel[dim][start : start + step]}
        chunks.extend(_split(piece, max_cells, order))
    return chunks


def describe_selection(selection: Selection) -> str:
    """``Region=0101..5444 (356 values), Kjonn=1,2, Tid=2020`` -- for messages."""
    parts = []
    for dim, codes in selection.items():
        codes = list(codes)
        if len(codes) <= 4:
            parts.append(f"{dim}={','.join(codes)}")
        else:
            parts.append(f"{dim}={codes[0]}..{codes[-1]} ({len(codes)} values)")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------
# JSON-stat2
# ---------------------------------------------------------------------------------------
def _category_codes(dim: str, spec: Mapping[str, Any], size: int, where: str) -> list[str]:
    category = spec.get("category", {})
    index = category.get("index")
    if isinstance(index, Mapping):
        codes = [""] * len(index)
        for code, pos in index.items():
            codes[int(pos)] = str(code)
    elif isinstance(index, list):
        codes = [str(c) for c in index]
    elif size == 1 and len(category.get("label", {})) == 1:
        codes = [str(next(iter(category["label"])))]
    else:
        raise DataError(f"{where}: dimension {dim!r} has no category index")
    if len(codes) != size:
        raise DataError(
            f"{where}: dimension {dim!r} has {len(codes)} categories but size says {size}"
        )
    return codes


def _array(raw: Any, n: int, where: str, what: str) -> list[Any]:
    if raw is None:
        return [None] * n
    if isinstance(raw, list):
        if len(raw) != n:
            raise DataError(f"{where}: {what} has {len(raw)} entries, expected {n}")
        return raw
    if isinstance(raw, Mapping):  # sparse: {"index": entry}
        out: list[Any] = [None] * n
        for key, entry in raw.items():
            i = int(key)
            if not 0 <= i < n:
                raise DataError(f"{where}: {what} index {i} outside 0..{n - 1}")
            out[i] = entry
        return out
    if isinstance(raw, str) and what == "status":  # one status for every cell
        return [raw] * n
    raise DataError(f"{where}: {what} must be a list or an object, got {type(raw).__name__}")


def parse_jsonstat2(doc: Mapping[str, Any], where: str = "JSON-stat2 dataset") -> pd.DataFrame:
    """A JSON-stat2 dataset as a long frame: one row per cell.

    Columns: one per dimension holding the category code (named by the dimension id),
    ``<dimension>_label`` with the category label, ``value`` (float; NaN where SSB sent
    null) and ``status`` (SSB's symbol, "" where none). A null value with status "-" (nil)
    is 0. No row is dropped: missing values stay as rows with their status.
    """
    if doc.get("class") != "dataset":
        raise DataError(f"{where}: not a JSON-stat2 dataset (class={doc.get('class')!r})")
    ids = list(doc.get("id", []))
    sizes = [int(s) for s in doc.get("size", [])]
    if len(ids) != len(sizes) or not ids:
        raise DataError(f"{where}: 'id' {ids} and 'size' {sizes} do not match")
    dims = doc.get("dimension", {})
    missing = [d for d in ids if d not in dims]
    if missing:
        raise DataError(f"{where}: dimension(s) {missing} listed in 'id' are not described")
    n = math.prod(sizes)
    values = _array(doc.get("value"), n, where, "value")
    status = _array(doc.get("status"), n, where, "status")
    grid = np.unravel_index(np.arange(n), sizes) if n else [np.array([], int)] * len(ids)
    columns: dict[str, Any] = {}
    for dim, size, idx in zip(ids, sizes, grid, strict=True):
        codes = _category_codes(dim, dims[dim], size, where)
        labels_map = dims[dim].get("category", {}).get("label", {}) or {}
        labels = [str(labels_map.get(c, c)) for c in codes]
        columns[dim] = np.asarray(codes, dtype=object)[idx]
        columns[f"{dim}_label"] = np.asarray(labels, dtype=object)[idx]
    value = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    symbols = np.array(["" if s is None else str(s) for s in status], dtype=object)
    value[(symbols == "-") & np.isnan(value)] = 0.0
    frame = pd.DataFrame(columns)
    for column in frame.columns:
        frame[column] = frame[column].astype(str)
    frame["value"] = value
    frame["status"] = pd.array(symbols.astype(str), dtype="str")
    return frame


@dataclass(frozen=True)
class TableMetadata:
    """A table's dimensions as the metadata endpoint describes them."""

    table_id: str
    label: str
    updated: str
    dims: tuple[str, ...]
    codes: Mapping[str, tuple[str, ...]]
    labels: Mapping[str, Mapping[str, str]]
    dim_labels: Mapping[str, str]
    elimination: Mapping[str, bool]
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_jsonstat(cls, table_id: str, doc: Mapping[str, Any]) -> TableMetadata:
        where = f"SSB table {table_id} metadata"
        if doc.get("class") != "dataset" or "dimension" not in doc:
            raise DataError(f"{where}: not a JSON-stat2 dataset")
        ids = tuple(doc.get("id", ()))
        sizes = [int(s) for s in doc.get("size", [])]
        if len(ids) != len(sizes):
            raise DataError(f"{where}: 'id' and 'size' do not match")
        codes, labels, dim_labels, elimination = {}, {}, {}, {}
        for dim, size in zip(ids, sizes, strict=True):
            spec = doc["dimension"].get(dim)
            if spec is None:
                raise DataError(f"{where}: dimension {dim!r} is not described")
            codes[dim] = tuple(_category_codes(dim, spec, size, where))
            raw = spec.get("category", {}).get("label", {}) or {}
            labels[dim] = {c: str(raw.get(c, c)) for c in codes[dim]}
            dim_labels[dim] = str(spec.get("label", dim))
            elimination[dim] = bool((spec.get("extension") or {}).get("elimination", False))
        roles = {k: tuple(v) for k, v in (doc.get("role") or {}).items()}
        return cls(
            table_id=table_id,
            label=str(doc.get("label", "")),
            updated=str(doc.get("updated", "")),
            dims=ids,
            codes=codes,
            labels=labels,
            dim_labels=dim_labels,
            elimination=elimination,
            roles=roles,
        )


# ---------------------------------------------------------------------------------------
# the raw-response cache
# ---------------------------------------------------------------------------------------
class ResponseCache:
    """Raw SSB answers on disk, one JSON-stat2 body per request plus a JSON sidecar.

    Layout: ``ROOT/<table>/<key>.json`` (the body exactly as SSB sent it) and
    ``ROOT/<table>/<key>.meta.json`` (table id, endpoint, URL parameters, the exact query,
    SSB's ``updated`` stamp, fetch time, attrbayes version, SHA-256 of the body). The key
    is a hash of the request, so the same query finds the same file. Both files are
    written atomically, the sidecar last: a body without a sidecar counts as absent.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @staticmethod
    def key(table_id: str, endpoint: str, params: Mapping[str, str], body: Any) -> str:
        canonical = json.dumps(
            {"table": table_id, "endpoint": endpoint, "params": dict(params), "body": body},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]

    def paths(self, table_id: str, key: str) -> tuple[Path, Path]:
        folder = self.root / table_id
        return folder / f"{key}.json", folder / f"{key}.meta.json"

    def get(self, table_id: str, key: str) -> dict[str, Any] | None:
        body, meta = self.paths(table_id, key)
        if not (body.is_file() and meta.is_file()):
            return None
        try:
            return json.loads(body.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{body}: cached SSB answer cannot be read ({exc}); delete it") from exc

    def put(self, table_id: str, key: str, raw: bytes, sidecar: Mapping[str, Any]) -> None:
        body, meta = self.paths(table_id, key)
        atomic_write_bytes(body, raw)
        info = {**sidecar, "sha256": hashlib.sha256(raw).hexdigest()}
        text = json.dumps(info, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        atomic_write_bytes(meta, text.encode("utf-8"))

    def sidecar(self, table_id: str, key: str) -> dict[str, Any]:
        return json.loads(self.paths(table_id, key)[1].read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------
# the client
# ---------------------------------------------------------------------------------------
@dataclass
class FetchResult:
    """A fetched table: the long frame of all chunks, SSB's stamp and request counts."""

    table_id: str
    frame: pd.DataFrame
    updated: str
    chunks: int
    requests: int  # requests sent to SSB (0 when everything came from the cache)


class SsbClient:
    """PxWebApi v2 client with cell-limit splitting, rate limiting, retries and a disk cache.

    Parameters
    ----------
    cache_dir
        Where raw answers are kept; None keeps nothing (every call is a request).
    transport
        An ``httpx`` transport; tests pass ``httpx.MockTransport``.
    refresh
        Ignore cached answers (they are replaced by fresh ones).
    sleep
        Used for backoff between retries (and by the default rate limiter).
    """

    def __init__(
        self,
        *,
        base_url: str = BASE_URL,
        lang: str = "no",
        cache_dir: str | Path | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        max_cells: int = MAX_CELLS,
        rate_limiter: RateLimiter | None = None,
        retries: int = 3,
        backoff: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        refresh: bool = False,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.lang = lang
        self.cache = ResponseCache(cache_dir) if cache_dir is not None else None
        self.max_cells = max_cells
        self.rate_limiter = rate_limiter or RateLimiter(sleep=sleep)
        self.retries = retries
        self.backoff = backoff
        self.refresh = refresh
        self._sleep = sleep
        self._now = now
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": f"attrbayes/{__version__}", "Accept": "application/json"},
        )
        self.requests_made = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SsbClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -------------------------------------------------------------------------
    def metadata(self, table_id: str) -> TableMetadata:
        """The table's metadata (dimensions, codes, labels, ``updated``)."""
        params = {"lang": self.lang, "outputFormat": "json-stat2"}
        doc = self._get_json(table_id, "metadata", params, None, "metadata")
        return TableMetadata.from_jsonstat(table_id, doc)

    def fetch(
        self,
        table_id: str,
        selection: Selection,
        *,
        order: Sequence[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> FetchResult:
        """Fetch a selection (dimension id -> value codes), split under the cell limit.

        ``progress(done, total)`` is called after each chunk. The chunks' frames are
        concatenated; the ``updated`` stamp is the latest SSB reported.
        """
        chunks = split_selection(selection, self.max_cells, order)
        before = self.requests_made
        params = {"lang": self.lang, "outputFormat": "json-stat2"}
        frames, stamps = [], []
        for i, chunk in enumerate(chunks, start=1):
            body = {
                "selection": [
                    {"variableCode": dim, "valueCodes": list(codes)} for dim, codes in chunk.items()
                ]
            }
            where = describe_selection(chunk)
            doc = self._get_json(table_id, "data", params, body, where)
            frames.append(parse_jsonstat2(doc, f"SSB table {table_id} ({where})"))
            stamps.append(str(doc.get("updated", "")))
            if progress is not None:
                progress(i, len(chunks))
        return FetchResult(
            table_id=table_id,
            frame=pd.concat(frames, ignore_index=True),
            updated=max(stamps),
            chunks=len(chunks),
            requests=self.requests_made - before,
        )

    # -- internals ----------------------------------------------------------------------
    def _get_json(
        self,
        table_id: str,
        endpoint: str,
        params: Mapping[str, str],
        body: Any,
        where: str,
    ) -> dict[str, Any]:
        if not re.fullmatch(r"[A-Za-z0-9_]+", table_id):
            raise DataError(f"SSB table id {table_id!r} is not a table number like '07459'")
        key = ResponseCache.key(table_id, endpoint, params, body)
        if self.cache is not None and not self.refresh:
            cached = self.cache.get(table_id, key)
            if cached is not None:
                return cached
        raw = self._request(table_id, endpoint, params, body, where)
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise SsbFetchError(
                f"SSB table {table_id} ({where}): the answer is not JSON: {raw[:200]!r}"
            ) from exc
        if self.cache is not None:
            self.cache.put(
                table_id,
                key,
                raw,
                {
                    "table": table_id,
                    "endpoint": endpoint,
                    "url": f"{self.base_url}tables/{table_id}/{endpoint}",
                    "params": dict(params),
                    "query": body,
                    "updated": doc.get("updated"),
                    "fetched": self._now().isoformat(),
                    "attrbayes_version": __version__,
                },
            )
        return doc

    def _request(
        self,
        table_id: str,
        endpoint: str,
        params: Mapping[str, str],
        body: Any,
        where: str,
    ) -> bytes:
        path = f"tables/{table_id}/{endpoint}"
        label = f"SSB table {table_id} ({where})"
        attempts = self.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            self.rate_limiter.acquire()
            self.requests_made += 1
            try:
                if body is None:
                    response = self._http.get(path, params=dict(params))
                else:
                    response = self._http.post(path, params=dict(params), json=body)
            except httpx.TimeoutException as exc:
                if last:
                    raise SsbFetchError(
                        f"{label}: timed out {attempts} time(s) ({exc}); SSB may be slow or "
                        "unreachable, try again later"
                    ) from exc
                self._sleep(self.backoff * 2**attempt)
                continue
            except httpx.TransportError as exc:
                if last:
                    raise SsbFetchError(
                        f"{label}: network error after {attempts} attempt(s): {exc}"
                    ) from exc
                self._sleep(self.backoff * 2**attempt)
                continue
            status = response.status_code
            if status == 200:
                return response.content
            detail = _problem_detail(response)
            if status == 429 or status >= 500:
                if last:
                    what = "too many requests" if status == 429 else "server error"
                    raise SsbFetchError(
                        f"{label}: HTTP {status} ({what}) after {attempts} attempt(s): {detail}"
                    )
                self._sleep(_retry_after(response) or self.backoff * 2**attempt)
                continue
            hint = ""
            if status == 403:
                hint = f" (SSB refuses queries over {MAX_CELLS:,} cells)"
            elif status == 404:
                hint = " (unknown table id, or a URL over SSB's length limit)"
            raise SsbFetchError(f"{label}: HTTP {status}{hint}: {detail}")
        raise AssertionError("unreachable")  # pragma: no cover


def _problem_detail(response: httpx.Response) -> str:
    """SSB's error message: RFC 7807 ``title``/``detail`` when JSON, else the text."""
    try:
        problem = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text else response.reason_phrase
    if isinstance(problem, Mapping):
        parts = [str(problem[k]) for k in ("title", "detail") if problem.get(k)]
        if parts:
            return " - ".join(parts)
    return json.dumps(problem, ensure_ascii=False)[:300]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def iter_years(codes: Sequence[str]) -> Iterator[tuple[str, int]]:
    """(code, year) for time codes that start with a year ("2020", "2020K4", "2020M01")."""
    for code in codes:
        match = re.match(r"^(\d{4})", code)
        if match:
            yield code, int(match.group(1))
