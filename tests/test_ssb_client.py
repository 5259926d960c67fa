"""The SSB PxWebApi v2 client, offline: splitting, rate limiting, cache, errors, JSON-stat2."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ssb_mock import FakeSsb, fixture_doc

from attrbayes import __version__
from attrbayes.data.ssb import (
    RateLimiter,
    ResponseCache,
    SsbClient,
    SsbFetchError,
    TableMetadata,
    count_cells,
    describe_selection,
    parse_jsonstat2,
    split_selection,
)
from attrbayes.exceptions import DataError

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
POP_SELECTION = {
    "Region": ("0301", "3001", "5001"),
    "Kjonn": ("1", "2"),
    "Alder": (*tuple(f"{a:03d}" for a in range(105)), "105+"),
    "ContentsCode": ("Personer1",),
    "Tid": ("2022", "2023"),
}


class FakeClock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(fake: FakeSsb, tmp_path=None, clock: FakeClock | None = None, **kwargs):
    clock = clock or FakeClock()
    return SsbClient(
        cache_dir=tmp_path,
        transport=fake.transport,
        rate_limiter=kwargs.pop("rate_limiter", RateLimiter(clock=clock, sleep=clock.sleep)),
        sleep=clock.sleep,
        now=lambda: NOW,
        **kwargs,
    )


# ---------------------------------------------------------------------------------------
# splitting under the cell limit
# ---------------------------------------------------------------------------------------
def _cells(chunks):
    return [
        cell
        for chunk in chunks
        for cell in itertools.product(*[[(d, c) for c in codes] for d, codes in chunk.items()])
    ]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 7), min_size=1, max_size=4),
    limit=st.integers(1, 60),
)
def test_split_chunks_cover_the_query_exactly_once_and_stay_under_the_limit(sizes, limit):
    selection = {f"D{i}": tuple(f"c{j}" for j in range(n)) for i, n in enumerate(sizes)}
    chunks = split_selection(selection, limit)
    assert all(count_cells(c) <= limit for c in chunks)
    cells = _cells(chunks)
    full = _cells([selection])
    assert len(cells) == len(set(cells)) == len(full)  # disjoint
    assert set(cells) == set(full)  # union = the query


def test_split_of_a_realistic_population_query():
    # 07459-like: 1,000 regions x 2 sexes x 106 ages x 40 years = 8.48 million cells
    selection = {
        "Region": tuple(f"{i:04d}" for i in range(1000)),
        "Kjonn": ("1", "2"),
        "Alder": tuple(str(a) for a in range(106)),
        "ContentsCode": ("Personer1",),
        "Tid": tuple(str(y) for y in range(1986, 2026)),
    }
    chunks = split_selection(selection, 800_000, order=["Tid", "Region"])
    assert count_cells(selection) == 8_480_000
    assert all(count_cells(c) <= 800_000 for c in chunks)
    assert sum(count_cells(c) for c in chunks) == 8_480_000
    # years are cut first: 212,000 cells a year, so 3 years per chunk and 14 chunks
    assert len(chunks) == 14
    assert all(c["Region"] == selection["Region"] for c in chunks)


def test_split_refuses_an_empty_dimension():
    with pytest.raises(DataError, match="no codes for dimension"):
        split_selection({"Region": (), "Tid": ("2020",)}, 10)


def test_describe_selection_is_short():
    text = describe_selection(POP_SELECTION)
    assert "Alder=000..105+ (106 values)" in text
    assert "Kjonn=1,2" in text


# ---------------------------------------------------------------------------------------
# rate limiting
# ---------------------------------------------------------------------------------------
def test_rate_limiter_allows_a_burst_then_waits_for_the_window():
    clock = FakeClock()
    limiter = RateLimiter(3, 60.0, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.now += 20  # 20 s later the window is still full
    assert limiter.acquire() == pytest.approx(40.0)
    assert clock.sleeps == [pytest.approx(40.0)]
    # the next two calls fit as the first burst has left the window
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 0.0


def test_thirty_one_calls_in_a_minute_take_a_minute():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)  # SSB: 30 per 60 s
    start = clock.now
    for _ in range(31):
        limiter.acquire()
    assert clock.now - start == pytest.approx(60.0)


def test_client_requests_go_through_the_rate_limiter():
    clock = FakeClock()
    fake = FakeSsb()
    client = make_client(
        fake, clock=clock, rate_limiter=RateLimiter(2, 60.0, clock=clock, sleep=clock.sleep)
    )
    client.metadata("07459")
    client.metadata("06913")
    client.metadata("03321")
    assert len(fake.calls) == 3
    assert clock.sleeps == [pytest.approx(60.0)]


# ---------------------------------------------------------------------------------------
# JSON-stat2
# ---------------------------------------------------------------------------------------
def test_parse_jsonstat2_keeps_every_cell_with_codes_labels_and_status():
    doc = fixture_doc("07459_data.json")
    frame = parse_jsonstat2(doc)
    assert len(frame) == np.prod(doc["size"]) == 6 * 2 * 106 * 3
    assert list(frame.columns[:4]) == ["Region", "Region_label", "Kjonn", "Kjonn_label"]
    oslo = frame[(frame["Region"] == "0301") & (frame["Kjonn"] == "2") & (frame["Tid"] == "2023")]
    # female 0-year-olds in Oslo 2023: 10 + 1 + (2023 - 2021)
    assert oslo.loc[oslo["Alder"] == "000", "value"].item() == 13
    assert oslo.loc[oslo["Alder"] == "105+", "Alder_label"].item() == "105 år eller eldre"
    old = frame[frame["Region"] == "0101"]
    assert len(old) == 2 * 106 * 3  # the old code stays, with SSB's symbol
    assert old["value"].isna().all()
    assert set(old["status"]) == {"."}
    assert set(frame.loc[frame["Region"] != "0101", "status"]) == {""}


def test_parse_jsonstat2_status_forms_and_nil():
    doc = {
        "version": "2.0",
        "class": "dataset",
        "id": ["Region", "Tid"],
        "size": [2, 2],
        "dimension": {
            "Region": {"category": {"index": ["0301", "3001"], "label": {"0301": "Oslo"}}},
            "Tid": {"category": {"index": {"2022": 0, "2023": 1}}},
        },
        "value": {"0": 5, "3": 7},  # sparse values
        "status": ["", "-", ":", ""],  # status as a list
    }
    frame = parse_jsonstat2(doc)
    assert frame["value"].tolist()[0] == 5
    assert frame["value"].tolist()[1] == 0  # "-" (nil) with a null value is zero
    assert np.isnan(frame["value"].tolist()[2])
    assert frame["status"].tolist() == ["", "-", ":", ""]
    assert frame["Region_label"].tolist() == ["Oslo", "Oslo", "3001", "3001"]
    doc["status"] = ".."  # one status for all cells
    assert set(parse_jsonstat2(doc)["status"]) == {".."}


def test_parse_jsonstat2_rejects_inconsistent_sizes():
    doc = fixture_doc("06913_data.json")
    doc["value"] = doc["value"][:-1]
    with pytest.raises(DataError, match="value has"):
        parse_jsonstat2(doc)
    with pytest.raises(DataError, match="not a JSON-stat2 dataset"):
        parse_jsonstat2({"class": "collection"})


def test_metadata_describes_dimensions_roles_and_elimination():
    meta = TableMetadata.from_jsonstat("07459", fixture_doc("07459_metadata.json"))
    assert meta.dims == ("Region", "Kjonn", "Alder", "ContentsCode", "Tid")
    assert meta.codes["Alder"][-1] == "105+"
    assert meta.labels["Kjonn"]["1"] == "Menn"
    assert meta.roles["geo"] == ("Region",)
    assert meta.elimination["Kjonn"] is True
    assert meta.elimination["Tid"] is False
    assert meta.updated == "2026-02-25T07:00:00Z"


# ---------------------------------------------------------------------------------------
# fetching, splitting and the cache
# ---------------------------------------------------------------------------------------
def test_fetch_splits_a_query_and_reassembles_every_cell(tmp_path):
    fake = FakeSsb(max_cells=500)  # the fake refuses more, as SSB does above 800,000
    client = make_client(fake, max_cells=500)
    result = client.fetch("07459", POP_SELECTION, order=["Tid", "Region"])
    assert result.chunks == len(fake.calls) == result.requests
    assert result.chunks > 1
    assert len(result.frame) == count_cells(POP_SELECTION) == 1272
    for method, path, params, body in fake.calls:
        assert method == "POST"
        assert path == "/api/pxwebapi/v2/tables/07459/data"
        assert params == {"lang": "no", "outputFormat": "json-stat2"}
        assert count_cells({s["variableCode"]: s["valueCodes"] for s in body["selection"]}) <= 500
    frame = result.frame
    assert not frame.duplicated(["Region", "Kjonn", "Alder", "Tid"]).any()
    trondheim = frame[(frame["Region"] == "5001") & (frame["Kjonn"] == "1")]
    assert set(trondheim["value"]) == {30, 31, 32}  # 10 * 3, plus 1 or 2 at age 0
    assert result.updated == "2026-02-25T07:00:00Z"


def test_a_second_run_reads_the_cache_and_makes_no_request(tmp_path):
    fake = FakeSsb()
    first = make_client(fake, tmp_path)
    meta = first.metadata("07459")
    fetched = first.fetch("07459", POP_SELECTION)
    assert first.requests_made == 2

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    offline = SsbClient(cache_dir=tmp_path, transport=httpx.MockTransport(refuse))
    assert offline.metadata("07459") == meta
    again = offline.fetch("07459", POP_SELECTION)
    assert offline.requests_made == 0
    assert again.requests == 0
    assert again.frame.equals(fetched.frame)


def test_cache_sidecar_records_table_query_stamp_time_and_version(tmp_path):
    fake = FakeSsb()
    client = make_client(fake, tmp_path)
    client.fetch("07459", POP_SELECTION)
    bodies = sorted(p for p in (tmp_path / "07459").glob("*.json") if ".meta" not in p.name)
    assert len(bodies) == 1
    body = bodies[0]
    sidecar = json.loads(body.with_suffix(".meta.json").read_text("utf-8"))
    sent = fake.calls[0][3]
    assert sidecar["table"] == "07459"
    assert sidecar["endpoint"] == "data"
    assert sidecar["query"] == sent  # the exact selection sent
    assert sidecar["params"] == {"lang": "no", "outputFormat": "json-stat2"}
    assert sidecar["updated"] == "2026-02-25T07:00:00Z"
    assert sidecar["fetched"] == NOW.isoformat()
    assert sidecar["attrbayes_version"] == __version__
    assert sidecar["sha256"] == hashlib.sha256(body.read_bytes()).hexdigest()
    assert json.loads(body.read_text("utf-8"))["class"] == "dataset"
    # no temporary files are left behind
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]


def test_refresh_asks_again_and_a_body_without_sidecar_is_not_trusted(tmp_path):
    fake = FakeSsb()
    make_client(fake, tmp_path).metadata("07459")
    make_client(fake, tmp_path, refresh=True).metadata("07459")
    assert len(fake.calls) == 2
    key = ResponseCache.key("07459", "metadata", {"lang": "no", "outputFormat": "json-stat2"}, None)
    ResponseCache(tmp_path).paths("07459", key)[1].unlink()  # an interrupted write
    make_client(fake, tmp_path).metadata("07459")
    assert len(fake.calls) == 3


# ---------------------------------------------------------------------------------------
# HTTP errors, retries, network failures
# ---------------------------------------------------------------------------------------
def test_429_is_retried_after_the_servers_delay():
    clock = FakeClock()
    fake = FakeSsb()
    fake.script = [httpx.Response(429, headers={"Retry-After": "7"}, json={"title": "Slow"})]
    client = make_client(fake, clock=clock)
    assert client.metadata("07459").table_id == "07459"
    assert len(fake.calls) == 2
    assert 7.0 in clock.sleeps


def test_5xx_is_retried_with_backoff_then_reported_naming_table_and_query():
    clock = FakeClock()
    fake = FakeSsb()
    fake.script = [httpx.Response(503, text="Service Unavailable")] * 4
    client = make_client(fake, clock=clock, retries=3, backoff=2.0)
    with pytest.raises(SsbFetchError) as info:
        client.fetch("07459", POP_SELECTION)
    message = str(info.value)
    assert "SSB table 07459" in message
    assert "HTTP 503" in message
    assert "after 4 attempt(s)" in message
    assert "Alder=000..105+ (106 values)" in message  # the query
    assert len(fake.calls) == 4
    assert clock.sleeps == [2.0, 4.0, 8.0]


def test_4xx_is_not_retried_and_shows_ssbs_message():
    fake = FakeSsb()
    fake.script = [
        httpx.Response(
            400,
            json={"type": "about:blank", "title": "Bad Request", "status": 400,
                  "detail": "Non-existent value in variable Region"},
        )
    ]  # fmt: skip
    client = make_client(fake)
    with pytest.raises(SsbFetchError, match="HTTP 400: Bad Request - Non-existent value"):
        client.fetch("07459", POP_SELECTION)
    assert len(fake.calls) == 1


def test_unknown_table_and_too_many_cells_get_hints():
    client = make_client(FakeSsb())
    with pytest.raises(SsbFetchError, match=r"SSB table 99999 \(metadata\): HTTP 404 \(unknown"):
        client.metadata("99999")
    fake = FakeSsb(max_cells=100)  # refuses what the client believes it may send
    with pytest.raises(SsbFetchError, match=r"HTTP 403 \(SSB refuses queries over 800,000"):
        make_client(fake).fetch("07459", POP_SELECTION)


def test_timeouts_and_network_errors_are_retried_then_reported():
    clock = FakeClock()
    fake = FakeSsb()
    fake.script = [httpx.ReadTimeout("slow"), httpx.ConnectError("down")]
    client = make_client(fake, clock=clock, retries=2)
    assert client.metadata("03321").dims[0] == "ArbstedKomm"  # third attempt succeeds
    fake.script = [httpx.ReadTimeout("slow")] * 3
    with pytest.raises(SsbFetchError, match=r"SSB table 06913 \(metadata\): timed out 3 time"):
        client.metadata("06913")
    fake.script = [httpx.ConnectError("no route")] * 3
    with pytest.raises(SsbFetchError, match="network error after 3 attempt"):
        client.metadata("06913")


def test_a_non_json_answer_is_an_error_and_is_not_cached(tmp_path):
    fake = FakeSsb()
    fake.script = [httpx.Response(200, text="<html>maintenance</html>")]
    client = make_client(fake, tmp_path)
    with pytest.raises(SsbFetchError, match="not JSON"):
        client.metadata("07459")
    assert not list(tmp_path.rglob("*.json"))


def test_table_ids_are_checked_before_any_request():
    fake = FakeSsb()
    with pytest.raises(DataError, match="not a table number"):
        make_client(fake).metadata("../07459")
    assert fake.calls == []
