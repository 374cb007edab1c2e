"""docs/performance.md from the figures `make bench` measured; targets beside them, met or not."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

# List prices used by the cost model (AWS price pages, arm64 Lambda; a region's own may differ).
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
DYNAMODB_WRITE = 0.625 / 1_000_000
DYNAMODB_READ = 0.125 / 1_000_000
SFN_TRANSITION = 0.025 / 1000
MEMORY_GB = 0.5  # Globals: MemorySize 512
MINTED_LATENCY_S = 0.3  # assumed Minted answer time in production; the sandbox answers in ~1 ms
TARGETS = {"cold_ratio": 1.3, "overhead_p50_ms": 1.0, "layer_unzipped_mb": 25.0}
WORKFLOW_COMPLETION_S = 2  # the sandbox completes the measured workflow's order this long after its buy
BARE_CALL = "GET /partner/order/{id}"  # the warm overhead's yardstick: one Digest request to the sandbox
# Operations the issues name that the gateway does not have yet: no figures are made up for them.
NOT_BUILT: tuple[str, ...] = ()


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _calls(names: list[str]) -> str:
    """``dynamodb PutItem ×2, POST /partner/pricefix (+ Digest 401)``: what went over the wire."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    parts = []
    for name, count in counts.items():
        if name.endswith(" (401)"):
            continue
        digest = " (+401)" if f"{name} (401)" in counts else ""
        parts.append(f"{name}{digest}" + (f" ×{count}" if count > 1 else ""))
    return ", ".join(parts)


def cold_start_section(cold: dict[str, Any]) -> list[str]:
    ops = cold["operations"]
    mode, others = cold.get("tracing", "lambda"), cold.get("other_tracing", [])
    lines = [
        "## Cold start",
        "",
        "What a caller waits for when Lambda starts a new container: a fresh interpreter imports the",
        "handler and serves its first invocation, with Lambda's environment variables and the template's",
        f"default tracing, **`Tracing={mode}`** (Lambda's active tracing; no X-Ray SDK in the function:",
        f"{cold['xray_segments']} segments reached the bench's UDP socket in this mode's runs), on what Lambda has: no",
        "site-packages but the layer's pinned requirements and the runtime's boto3 (`requirements/lambda-runtime.txt`),",
        "AWS on moto_server and Minted on the sandbox, over HTTP. The **floor** is a process that imports",
        "boto3, requests and pydantic, creates the same clients and makes the same calls (listed below;",
        "the bench checks that they are the same). **libraries** is the floor plus what our handlers stand",
        "on, used as ours are: pydantic's model machinery, Powertools Logger and Metrics (and Tracer when",
        "the mode is xray-sdk) around the handler, set up as ours are but without importing our package",
        "(the collector held through the first call, as ours holds it), and, for an HTTP request, pydantic",
        "validating its one path parameter through a TypeAdapter, as our router does (no request loads",
        "Powertools' Event Handler: it only writes the OpenAPI document); a task or the schedule has no",
        "route to validate. "
        + "".join(
            f"**{other}** is the same cold start with `Tracing={other}` (Powertools Tracer, the X-Ray SDK "
            f"patching botocore and requests: {cold.get('other_xray_segments', 0)} segments sent). "
            for other in others
        )
        + (
            "**restore** is SnapStart as far as this machine shows it (below): the time from a restored "
            "snapshot to the first answer. "
            if cold.get("restore")
            else ""
        )
        + f"Medians of {ops[0]['runs'] if ops else 0} rounds, the runs taking turns; import only is the handler's import alone.",
        "",
        f"| operation | cold start (ms) | floor (ms) | ratio | target ≤ {TARGETS['cold_ratio']}× | import only (ms) "
        "| floor import (ms) | libraries (ms) | libraries ratio | CPU ratio |"
        + "".join(f" {other} (ms) | {other} ratio |" for other in others)
        + (" restore (ms) |" if cold.get("restore") else ""),
        "|---|---|---|---|---|---|---|---|---|---|"
        + "---|---|" * len(others)
        + ("---|" if cold.get("restore") else ""),
    ]
    for op in ops:
        lines.append(
            f"| {op['name']} | {op['cold_start_ms']} | {op['floor_ms']} | {op['ratio_to_floor']}× "
            f"| {_met(op['ratio_to_floor'] <= TARGETS['cold_ratio'])} | {op['import_ms']} | {op['floor_import_ms']} "
            f"| {op['libraries_ms']} | {op['libraries_ratio_to_floor']}× | {op['cpu_ratio_to_floor']}× |"
            + "".join(f" {op['tracing_ms'][other]} | {op['tracing_ratio_to_floor'][other]}× |" for other in others)
            + (f" {op['restore_ms']} |" if cold.get("restore") else "")
        )
    lines += [f"| {name} | not built yet | | | | | | | | |" for name in NOT_BUILT]
    lines += ["", "CPU ratio: the same runs' CPU time (the process's own work), steadier than wall time on a busy",
              "machine. Calls each cold start made (the floor made the same):", "",
              "| operation | function | calls |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {op['name']} | {op['function']} | {_calls(op['calls'])} |" for op in ops]
    missed = [op for op in ops if op["ratio_to_floor"] > TARGETS["cold_ratio"]]
    if missed:
        lines += ["", *cold_start_misses(ops, missed)]
    return [*lines, ""]


def _span(values: list[float], unit: str = "") -> str:
    low, high = min(values), max(values)
    if low == high:
        return f"{low}{unit}"
    return f"{low} to {high}{unit}" if low < 0 else f"{low}-{high}{unit}"


def libraries_split(ops: list[dict[str, Any]], missed: list[dict[str, Any]]) -> list[str]:
    """The libraries column in two, by CPU time (steadier than wall time): what giving up Powertools'
    Logger and Metrics could win, each row against its own floor."""
    if not all("pydantic_cpu_ms" in op for op in ops):
        return []  # a run from before the split
    pydantic = [round((op["pydantic_cpu_ms"] - op["floor_cpu_ms"]) / op["floor_cpu_ms"], 2) for op in ops]
    powertools = [round((op["libraries_cpu_ms"] - op["pydantic_cpu_ms"]) / op["floor_cpu_ms"], 2) for op in ops]
    still = [
        op
        for op in missed
        if op["cpu_ms"] - (op["libraries_cpu_ms"] - op["pydantic_cpu_ms"]) > TARGETS["cold_ratio"] * op["floor_cpu_ms"]
    ]
    ours = [round((op["cpu_ms"] - op["libraries_cpu_ms"]) / op["floor_cpu_ms"], 2) for op in ops]
    return [
        "The libraries run again without Powertools, in the same rounds with the same calls, splits that",
        f"column by CPU time: pydantic's model machinery (and an HTTP row's TypeAdapter) is {_span(pydantic, '×')}",
        f"the floor's CPU time, Powertools Logger and Metrics around the handler {_span(powertools, '×')}, and our",
        f"own code (the cold start less the libraries column) {_span(ours, '×')}. A row's difference is noisy; the",
        f"medians over the rows are steadier: pydantic {statistics.median(pydantic):.2f}×, Powertools"
        f" {statistics.median(powertools):.2f}×, ours {statistics.median(ours):.2f}×.",
        "Writing our own log and metric lines instead of Powertools' would take at most Powertools' share off a",
        f"cold start: {len(still)} of the {len(missed)} rows that miss would still miss by CPU time.",
    ]


def ours_budget(ops: list[dict[str, Any]]) -> list[float]:
    """Per row, what the target leaves for our own code once the libraries have theirs (ms, wall time)."""
    return [round(TARGETS["cold_ratio"] * op["floor_ms"] - op["libraries_ms"], 1) for op in ops]


def cold_start_misses(ops: list[dict[str, Any]], missed: list[dict[str, Any]]) -> list[str]:
    """Why the cold start misses its target: the libraries we keep, then what is ours."""
    tasks = [op for op in ops if not op.get("http", True)] or ops
    http = [op for op in ops if op.get("http", True)] or ops
    ours = [round(op["cold_start_ms"] - op["libraries_ms"], 1) for op in ops]
    budget = round(statistics.median(op["floor_ms"] for op in ops) * (TARGETS["cold_ratio"] - 1))
    xray = [round(ms - op["cold_start_ms"], 1) for op in ops for ms in op.get("tracing_ms", {}).values()]
    lines = [
        f"Not met for {len(missed)} of {len(ops)} operations"
        + ("" if len(missed) == len(ops) else f" ({'; '.join(op['name'] for op in missed)})")
        + ", and why.",
        f"The target leaves {TARGETS['cold_ratio'] - 1:.1f}× the floor (about {budget} ms here) for everything beyond importing boto3,",
        "requests and pydantic (whose import alone creates no model: pydantic loads its machinery when",
        "the first model class is made). The libraries our handlers keep take much of it on their own:",
        "Powertools Logger and Metrics and pydantic's model machinery are "
        f"{_span([op['libraries_ratio_to_floor'] for op in tasks], '×')} the floor (the task rows' libraries",
        "column), and an HTTP request's validation (its path parameter through a TypeAdapter, as our router",
        f"does) brings that to {_span([op['libraries_ratio_to_floor'] for op in http], '×')}.",
        *libraries_split(ops, missed),
        f"What is ours is the gap between the libraries column and the cold start ({_span(ours)} ms here;",
        "wall time is noisy, compare the CPU ratio): importing our modules, most of it pydantic creating",
        "the model classes they declare, the first call's validators (built on first use), and the first",
        "route resolution.",
        "",
        "Done: tracing left the default path (the X-Ray SDK, its asyncio and wrapt and its",
        "patching of botocore and requests are no longer imported"
        + (
            f"; `Tracing=xray-sdk` cost {round(statistics.median(xray))} ms more per cold start here, the median over"
            f" the operations, more in {sum(1 for ms in xray if ms > 0)} of {len(xray)} rows (each of its rows is"
            " 3 runs: noisy)"
            if xray
            else ""
        )
        + "); Minted's contract models are split by operation, so a function imports only the models of",
        "the calls it makes (tests/test_architecture.py); in Lambda the garbage collector is held from our",
        "package's import until the first invocation is served, then what exists is frozen (a cold start's",
        "objects live as long as the container: the collections it ran found almost nothing); and",
        "Powertools' Event Handler left the request path: our router",
        "(`minted_gateway/api/router.py`) matches the routes and validates with pydantic directly, and",
        "Powertools' resolver is built from the same routes only to write the OpenAPI document, never on",
        "a request (tests/test_architecture.py). The served document is byte-identical to the one written",
        "before, and every answer, 4xx included, is compared byte for byte with the resolver's on the",
        "hostile-input corpus and generated requests (tests/api/test_router_parity.py; three deliberate",
        "differences, two where Powertools answered 500 and a list sent for one object, which Powertools",
        "read as its first item, are listed in docs/decisions.md). A function",
        "also creates only what its own operations use: the answer types of its own routes (each room's",
        "`bodies.py`, and the error envelope), only when the OpenAPI document is written (they are the",
        "document's alone: `documented()` in `api/schemas.py`), the scheduled price refresh none of the",
        "quote's request, limits and order models,",
        "and reading an order nothing of placing one (`orders/order_book.py`); a route's request body is",
        "made on that route's own first request (`types=imported(...)` in `api/router.py`), so GET /prices",
        "makes nothing of a quote, a buy nothing of a delivery or the workflow (nor its buy task: the held",
        "customer is `orders/workflow_customers.py`'s), and GET /customers/{id}",
        "nothing of creating one; tests/test_architecture.py watches each. Our model modules evaluate their",
        "annotations once at class creation (pydantic evaluated each text annotation with `eval`: about",
        "half of a class's creation), the Minted client's configuration is a dataclass, not a model, and our",
        "value objects are NamedTuples (a frozen dataclass's generated methods cost about 0.5 ms each at import,",
        "a NamedTuple's about a sixth: about 5 ms of a buy's cold start).",
        "",
        "What is left is the libraries we keep and our own code. The libraries column alone (Powertools",
        "Logger and Metrics, pydantic's model machinery, one TypeAdapter) is above the target in "
        f"{sum(1 for op in ops if op['libraries_ratio_to_floor'] > TARGETS['cold_ratio'])} of {len(ops)} rows;",
        "ours is the gap above it: our modules' model classes and the first call's validators.",
        "",
        "Three ways to the target, two of them decisions: cut our own code's share (the largest, above) by",
        "the part the target misses by: most of it is pydantic creating our model classes and building the",
        "validators a first call uses, so fewer models per operation, not a library, is the lever; or read",
        "the target against the libraries column ("
        f"{sum(1 for op in ops if op['cold_start_ms'] <= TARGETS['cold_ratio'] * op['libraries_ms'])} of {len(ops)} rows are within",
        f"{TARGETS['cold_ratio']}× of it); or turn SnapStart on for the functions whose callers wait (the",
        "restore column, and the trade-off below; Lambda's own restore, which decides it, can only be",
        "measured on AWS). Once the libraries have theirs, each row's own floor leaves",
        f"{_span(ours_budget(ops))} ms for our code here.",
    ]
    return lines


def render(r: dict[str, Any]) -> str:
    cold, warm, sizes = r["cold_start"], r["warm"], r["sizes"]
    lines = [
        "# Performance",
        "",
        "Written by `make bench`; every figure sits beside its baseline, measured in the same run on the",
        f"same machine (Python {r['machine']['python']}, {r['machine']['cpus']} CPUs; the run took {r['seconds']} s).",
        "Compare figures with their baselines, not with another machine's.",
        "",
        *cold_start_section(cold),
        "## Warm overhead",
        "",
        "Handler time minus the time inside Minted calls (from `requests.Session.request`: preparing,",
        "Digest and HTTP to the sandbox) and DynamoDB calls (from botocore's API call: serialising, HTTP",
        "to moto, parsing): what our code adds per invocation, validation, logging and metrics included.",
        "moto_server and the sandbox run in a process of their own, as DynamoDB and Minted are elsewhere in",
        "Lambda: sharing the handler's process, their threads' work competed with it and counted as overhead.",
        "",
        f"| operation | handler p50 (ms) | overhead p50 (ms) | overhead p99 (ms) | overhead ÷ a bare Minted call "
        f"| target p50 < {TARGETS['overhead_p50_ms']} ms |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    bare = r["raw_requests_p50_ms"][BARE_CALL]
    for op in warm:
        ok = op["overhead_p50_ms"] < TARGETS["overhead_p50_ms"]
        lines.append(
            f"| {op['name']} | {op['handler_p50_ms']} | {op['overhead_p50_ms']} | {op['overhead_p99_ms']} "
            f"| {op['overhead_p50_ms'] / bare:.2f}× | {_met(ok)} |"
        )
    lines += [
        "",
        f'"Overhead ÷ a bare Minted call" divides by a bare call to the sandbox ({BARE_CALL} of an order it does not hold,',
        f"{bare} ms in this run, below), a yardstick from the same run: what one Digest request costs on this",
        f"machine, with nothing of ours (Minted's own answers take longer: the estimate below assumes {MINTED_LATENCY_S} s).",
    ]
    lines += overhead_profile(r)
    lines += ["", "Baseline, a bare `requests` call with Digest to the same sandbox, p50:", ""]
    lines += [f"- {endpoint}: {ms} ms" for endpoint, ms in r["raw_requests_p50_ms"].items()]
    lines += [
        "",
        "## Round trips",
        "",
        "Per operation, warm (nonce known, secret cached): Minted requests counted by the sandbox (401s",
        "included), DynamoDB requests counted with botocore (a Query is a read).",
        "",
        "| operation | Minted | DynamoDB reads | DynamoDB writes | target |",
        "|---|---|---|---|---|",
    ]
    targets: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
        "new buy": ("≤ 2 Minted, ≤ 2 writes", lambda t: t["minted_calls"] <= 2 and t["dynamodb_writes"] <= 2),
        "replayed buy": ("no Minted, 1 DynamoDB request", lambda t: t["minted_calls"] == 0 and len(t["dynamodb_calls"]) == 1),
        "new sell": ("≤ 2 Minted, ≤ 2 writes", lambda t: t["minted_calls"] <= 2 and t["dynamodb_writes"] <= 2),
        "order history, a customer": ("no Minted, 1 Query, no Scan", lambda t: t["minted_calls"] == 0
                                      and t["dynamodb_calls"] == ["Query"]),
        "scheduled reconciliation, one row": ("1 Minted lookup, 2 writes, no Scan", lambda t: t["minted_calls"] == 1
                                              and t["dynamodb_writes"] == 2 and "Scan" not in t["dynamodb_calls"]),
        "prices from the cache": ("no Minted, 1 read", lambda t: t["minted_calls"] == 0 and t["dynamodb_reads"] == 1
                                  and t["dynamodb_writes"] == 0),
    }  # fmt: skip
    for op in warm:
        t = op["round_trips"]
        verdict = ""
        if op["name"] in targets:
            target, check = targets[op["name"]]
            verdict = f"{target}: {_met(check(t))}"
        lines.append(
            f"| {op['name']} | {t['minted_calls']} | {t['dynamodb_reads']} | {t['dynamodb_writes']} | {verdict} |"
        )
    lines += [
        "",
        "A replay is one DynamoDB request rather than one read: the conditional put that finds the row",
        "returns it (docs/decisions.md); a new buy's one read is its quote's currency, made after the claim,",
        "so a replay never pays it.",
        "",
        "## Package sizes",
        "",
        "| artifact | unzipped (kB) | zipped (kB) |",
        "|---|---|---|",
    ]
    mb = 1024 * 1024
    for name, size in sizes.items():
        if isinstance(size, dict):
            lines.append(f"| {name} | {size['unzipped_bytes'] / 1024:,.1f} | {size['zipped_bytes'] / 1024:,.1f} |")
    layer = sizes.get("SharedLayer", {}).get("unzipped_bytes", 0) / mb
    lines += ["", "The layer is bytecode-compiled (Lambda's /opt is read-only) and holds no boto3 or botocore: the",
              "runtime's serve (docs/decisions.md). Functions hold only their entry module.",
              "", f"Layer target ≤ {TARGETS['layer_unzipped_mb']} MB unzipped: {_met(layer <= TARGETS['layer_unzipped_mb'])} ({layer:.1f} MB).",
              LAYER_NOTE if layer > TARGETS["layer_unzipped_mb"] else ""]  # fmt: skip
    lines += snapstart(cold) + cost_model(r)
    return "\n".join(lines).rstrip() + "\n"


LAYER_NOTE = (
    "Over the target: look for a dependency that brought the AWS SDK back into the layer (the layer is\n"
    "installed with --no-deps from layers/minted/requirements.txt; boto3 and botocore are the runtime's)."
)


def overhead_profile(r: dict[str, Any]) -> list[str]:
    buy = next(op for op in r["warm"] if op["name"] == "new buy")
    missed = [op["name"] for op in r["warm"] if op["overhead_p50_ms"] >= TARGETS["overhead_p50_ms"]]
    lines = [
        "",
        "Tracing is the default's, Lambda's own (nothing in the function); the overhead includes timing",
        'each Minted and DynamoDB call and writing the call lines (docs/operations.md, "Tracing and call',
        'latency"). With `Tracing=xray-sdk` the X-Ray SDK adds a subsegment per AWS and Minted call.',
        f"Where a new buy's overhead goes: cProfile's own time per area over {r['iterations']} buys, the",
        "profiler paused inside Minted and DynamoDB calls (so it sees what the overhead measures); the",
        "share, and that share of the p50 above (the profiler itself inflates small functions).",
        "",
        "| area | share | ≈ ms of the p50 |",
        "|---|---|---|",
    ]
    for area, share in r["new_buy_profile"][:14]:
        lines.append(f"| {area} | {share:.0%} | {share * buy['overhead_p50_ms']:.3f} |")
    ours = sum(share for area, share in r["new_buy_profile"] if area.startswith("minted_gateway."))
    if missed:
        lines += [
            "",
            f"Not met: {', '.join(missed)}. No single area dominates: pydantic validating and dumping",
            "our models (a buy validates the request, Minted's answer and its ledger record), our router's",
            "matching and validation, Powertools' log and metric lines, our JSON and DynamoDB item helpers,",
            "and the keyed hashes each take a slice. Cut so far: the JSON encoder's type dispatch,",
            "ledger numbers through boto3's decimal context directly, Minted's times by fromisoformat, the call",
            "lines written straight to stdout (through the logging pipeline a buy's three cost about 30 times",
            "as much), the Event Handler's routing and per-request validation, replaced by our router's,",
            "DynamoDB string attributes read and written in place, an answer's keys escaped once, Minted's",
            "text bound on its Decimal fields only (not a validator on every field), an order's body read field",
            "by field, Minted's day-first times without strptime, Powertools' log line through our formatter",
            "(`log_format.py`: byte-identical to Powertools', about 0.42 to 0.29 ms a line timed inside this",
            "bench), the correlation id read without a JMESPath search (about 65 µs), and a metric added",
            "without Powertools' debug text and Enum look-ups (`metric_lines.py`: about 85 to 43 µs); the table",
            "above shows what that leaves. What is left is spread over the use cases' own model round trips and",
            "the libraries' per-request work, not one hot spot: a log line's record and filters through stdlib",
            "logging (about 0.2 ms), the metrics flush (about 0.16 ms), and in a buy about 0.8 ms of pydantic",
            "(Minted's answer 0.17 ms, the ledger record read back 0.13 ms, the purchase made three times). A",
            "buy under 1 ms would need fewer model round trips per buy (not done).",
            f"The shares under `minted_gateway.*` add up to {ours:.0%}. Every row moves by about ±20%",
            "between runs on this shared machine.",
        ]
    return lines


def snapstart(cold: dict[str, Any]) -> list[str]:
    ops = cold["operations"]
    imports = [op["import_ms"] for op in ops]
    floor_imports = [op["floor_import_ms"] for op in ops]
    firsts = [round(op["cold_start_ms"] - op["import_ms"], 1) for op in ops]
    restored = [op for op in ops if op.get("restore_ms") is not None]
    lines = [
        "",
        "## Where a cold start's work goes, and SnapStart (measured as far as this machine allows, not enabled)",
        "",
        f"Init (the handler's import) takes {_span(imports)} ms here, of which the floor's own import is",
        f"{_span(floor_imports)} ms, and the first call {_span(firsts)} ms. The init phase only imports: libraries,",
        "our modules, pydantic model classes (their validators are built on first use). Clients, secrets,",
        "validators and the HTTP routes are made on the first call, and only those the operation needs:",
        "on an on-demand cold start the caller waits for init and first call alike, so moving work",
        "between them changes nothing for them, while doing it lazily keeps each operation from paying",
        "for the others' (a task never builds the routes, GET /prices never makes a Secrets Manager",
        "client) and keeps the rule that nothing reaches AWS at import (tests need no reloads). One boto3",
        "session serves every client of a container (a session per client cost about 25 ms each).",
        "",
        "SnapStart replaces the init phase by a restore of a snapshot taken when a version is published.",
        "Its hooks are in place (`minted_gateway/snapstart.py`, registered only when Lambda initialises",
        "for a snapshot): before the snapshot, the function builds its HTTP routes, the validators of",
        "its models and its clients, all without calling out; after each restore it renews what two",
        "copies of one snapshot must not share: the requests and boto3 connection pools, the Digest",
        "nonce and its count, the partner secret and the ledger key read (and the use cases holding",
        "it), and the random generators' seeds (retry jitter). tests/reliability/test_snapstart.py",
        "restores two copies from one snapshot (a process forked after the hook, its Minted and",
        "DynamoDB connections kept open by a proxy) and checks that no nonce count is sent twice and",
        "no connection is shared; with the renewal left out it fails.",
    ]
    if restored:
        ratios = [round(op["restore_ms"] / op["cold_start_ms"], 2) for op in restored]
        to_floor = [round(op["restore_ms"] / op["floor_ms"], 2) for op in restored]
        lines += [
            "",
            f"The restore column: a restored copy answered its first request in {_span([op['restore_ms'] for op in restored])} ms here,",
            f"{_span(ratios, '×')} of the cold start and {_span(to_floor, '×')} of the floor (which pays its imports:",
            "a restore does not). What a restore still pays: the secret read, a Digest challenge (the",
            "nonce is forgotten, one Minted round trip more than a warm call), new connections and the",
            "first call's own work. What it does not show: Lambda's own restore of the snapshot (loading",
            "the memory image), which only AWS can measure and which adds to every restored start.",
        ]
    lines += [
        "",
        "Trade-off: SnapStart needs published versions (`AutoPublishAlias`) with every caller, the API's",
        "integrations, the workflow's tasks and the schedules, pointed at the alias; each publish takes",
        "a snapshot (slower deploys); Lambda bills the snapshot's cache and each restore; and every",
        "piece of state made before the snapshot must be renewed by the hook (tested above, a rule for",
        "every future change). Decision: off by default. "
        + (
            "The figures say a restored start is far below a cold one here,"
            if restored and statistics.median(op["restore_ms"] / op["cold_start_ms"] for op in restored) < 0.5
            else "A restored start is not far below a cold one here,"
        ),
        "but the part this machine cannot see (Lambda's restore) decides it: measure",
        "the buy function's restored starts on AWS first, and turn SnapStart on for the functions whose",
        "callers wait (buy, quotes) if they beat the cold start there.",
    ]
    return lines


def cost_model(r: dict[str, Any]) -> list[str]:
    ops = {op["name"]: op for op in r["warm"]}
    ms = 1 / 1000

    def duration(name: str, minted_calls: int) -> float:
        return float(ops[name]["handler_p50_ms"]) * ms + minted_calls * MINTED_LATENCY_S

    # A direct buy: a quote, the buy, one read of the result.
    direct = [("quote", 1), ("new buy", 1), ("get order, not final", 1)]
    # A workflow buy: the same steps plus its polls until final, as many as the measured execution made.
    polls = r["workflow_polls"]
    workflow = [("quote", 1), ("new buy", 1)] + [("get order, not final", 1)] * polls
    transitions = r["workflow_state_transitions"]

    def per_thousand(steps: list[tuple[str, int]]) -> tuple[float, int, int, int]:
        gb_s = sum(duration(name, calls) for name, calls in steps) * MEMORY_GB * 1000
        invocations = len(steps) * 1000
        reads = sum(ops[n]["round_trips"]["dynamodb_reads"] for n, _ in steps) * 1000
        writes = sum(ops[n]["round_trips"]["dynamodb_writes"] for n, _ in steps) * 1000
        return gb_s, invocations, reads, writes

    lines = ["", "## Cost and capacity, on paper", "",
             f"From the figures above, with Minted assumed to answer in {MINTED_LATENCY_S} s in production and list",
             "prices (arm64 Lambda $0.0000133334/GB-s and $0.20/M requests; DynamoDB on-demand $0.625/M",
             "writes, $0.125/M reads; Step Functions $0.025/1,000 transitions).", "",
             "| per 1,000 buys | Lambda GB-s | invocations | DynamoDB reads | DynamoDB writes | state transitions | cost (USD) |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for label, steps, sfn in (("direct (POST /quotes, POST /orders, one GET)", direct, 0),
                              (f"workflow ({polls} polls)", workflow, transitions)):  # fmt: skip
        gb_s, invocations, reads, writes = per_thousand(steps)
        cost = gb_s * LAMBDA_GB_SECOND + invocations * LAMBDA_REQUEST + reads * DYNAMODB_READ + writes * DYNAMODB_WRITE
        cost += sfn * 1000 * SFN_TRANSITION
        lines.append(f"| {label} | {gb_s:.0f} | {invocations} | {reads} | {writes} | {sfn * 1000} | {cost:.3f} |")
    buy_s = duration("new buy", 1)
    lines += [
        "",
        f"Measured: one workflow execution whose order Minted completes about {WORKFLOW_COMPLETION_S} s after the buy",
        f"takes {transitions} state transitions here, with {polls} polls (a slower Minted means more polls, each",
        "adding transitions). Lambda time is mostly waiting on Minted.",
        "",
        "What limits throughput first:",
        "1. The API's throttling: `ApiRateLimit` (default 50 requests/s, burst `ApiBurstLimit` 100). At that rate",
        f"   the buy function needs about {50 * buy_s:.0f} concurrent executions (Little's law, {buy_s:.2f} s a buy).",
        "2. Minted's rate limit for the partner (not published; the client honours 429 and Retry-After). This is",
        "   the real ceiling: raise `ApiRateLimit` only as far as Minted allows.",
        "3. Lambda concurrency: the account's regional quota (1,000 by default) is far above what 1 leaves;",
        "   reserved concurrency is not set (see the checkov note in the template).",
    ]
    return lines
