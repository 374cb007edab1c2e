"""make mutate: mutation testing (cosmic-ray) of the modules that hold the promises, within a time budget.

Each module is mutated against the tests that cover it (``MODULES``), in a copy of the working tree
(.mutate/tree-<modules>), so that an interrupted run never leaves a mutant in the sources. A module's session
(.mutate/<name>.sqlite) is kept while the module and its tests are unchanged, so a run stopped by
its budget (MUTATE_BUDGET seconds, default 2400) goes on where it stopped the next time. Then
docs/mutation.md is written from every session: what was killed, what survived (each survivor with
its reason from ``EQUIVALENT``, or marked as a gap the tests must close), and what the budget left.

    make mutate                                  # every module, 40 minutes at most
    MUTATE_BUDGET=600 MUTATE_MODULES=limits make mutate
    MUTATE_BUDGET=0 make mutate                  # only rewrite docs/mutation.md from the sessions
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutate"
TREE = WORK / "tree"
DOC = ROOT / "docs" / "mutation.md"
LAYER = "layers/minted/minted_gateway"


@dataclass(frozen=True)
class Module:
    name: str
    path: str  # the module mutated
    tests: tuple[str, ...]  # the tests that cover it, run with -x for each mutant
    timeout: float  # seconds for one mutant's test run before it counts as killed (a hang)


MODULES = [
    Module("matching", f"{LAYER}/orders/matching.py", ("tests/orders/test_matching.py", "tests/orders/test_sides.py"),
           120),
    Module("fingerprint", f"{LAYER}/orders/fingerprint.py", ("tests/orders/test_sides.py",
           "tests/orders/test_fingerprint.py"), 120),
    Module("redaction", f"{LAYER}/observability.py", ("tests/test_redaction.py",), 120),
    Module("dynamodb_limits", f"{LAYER}/orders/dynamodb_limits.py", ("tests/orders/test_limits_sharded.py",
           "tests/orders/test_limits.py"), 180),
    Module("limits", f"{LAYER}/orders/limits.py", ("tests/orders/test_limits.py",
           "tests/orders/test_limits_sharded.py"), 180),
    Module("place_order", f"{LAYER}/orders/place_order.py", ("tests/orders/test_place_order_answers.py",
           "tests/orders/test_place_order_retries.py", "tests/orders/test_order_book.py",
           "tests/api/test_exactly_once_sends.py",
           "tests/api/test_orders.py", "tests/api/test_sell.py", "tests/limits/test_limits.py"), 300),
    Module("order_book", f"{LAYER}/orders/order_book.py", ("tests/orders/test_place_order_answers.py",
           "tests/orders/test_order_book.py", "tests/orders/test_place_order_retries.py",
           "tests/api/test_order_statuses.py", "tests/api/test_exactly_once_sends.py", "tests/api/test_orders.py",
           "tests/api/test_sell.py"), 300),
]  # fmt: skip

# Mutations left out, to keep a run within hours on a small machine: each comparison is mutated
# only to its negation or its boundary (== to !=, < to <=, is to is not, ...), arithmetic only + to
# - and * to / (and back); bit operations, powers and random variable renames are left out (they
# make code no one would write here, and multiply the mutants by ten).
EXCLUDED_OPERATORS = [
    r"core/ReplaceBinaryOperator_(?!(Add_Sub|Sub_Add|Mul_Div|Div_Mul)$)",
    r"core/ReplaceComparisonOperator_(?!(Eq_NotEq|NotEq_Eq|Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Is_IsNot|IsNot_Is)$)",
    r"core/ReplaceUnaryOperator_.*Invert",
    r"core/VariableReplacer",
    r"core/VariableInserter",
    r"core/RemoveDecorator",
]

# A surviving mutant that no test can kill, because it does not change what the code does: the key
# is (module name, operator, the mutated line as written), the value why it is equivalent.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("fingerprint", "NumberReplacer",
     "return normalised.quantize(Decimal(1)) if normalised == normalised.to_integral() else normalised"):
        "quantize reads only its argument's exponent: Decimal(0), Decimal(1) and Decimal(2) all have exponent 0",
    ("redaction", "NumberReplacer",
     '_STANDARD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}'):
        "a blank record is made only for the names of its attributes: its level and line number are never read",
    ("dynamodb_limits", "ReplaceTrueWithFalse",
     "for (counter, _, _, _), reason in zip(plan, reasons[1:], strict=True):"):
        "DynamoDB gives one cancellation reason per item of the transaction (the hold, then each counter or "
        "shard planned): the lengths always match, strict only says so",
    ("dynamodb_limits", "NumberReplacer", "ANNOUNCED_KEPT = 32"):
        "how many counters' shard-count records a container remembers before it forgets them all: it needs "
        "one a day per sharded counter; a bound one higher or lower only moves when a record is written again",
    ("dynamodb_limits", "ReplaceComparisonOperator_GtE_Gt", "if len(self._announced) >= ANNOUNCED_KEPT:"):
        "forgetting the remembered records at 32 or at 33 of them: either bound keeps the set small, and a "
        "forgotten record is only written again (its condition keeps the higher count)",
    ("dynamodb_limits", "NumberReplacer", "recorded = 0"):
        "where the most shards any item records starts: 1 or -1 is, as 0, no more than the smallest shard "
        "count (1), so no record still reads no shard past ours",
    ("dynamodb_limits", "ReplaceTrueWithFalse",
     "rooms = [share - totals.get(k, Decimal(0)) for k, share in zip(keys, most, strict=True)]"):
        "shard_keys and shares both make one entry per shard: the lengths always match, strict only says so",
    ("dynamodb_limits", "NumberReplacer",
     'if held is None or held.get("state") != HELD or held.get("attempt", 0) > attempt:'):
        "every hold is written with its attempt (Hold requires one): the default is never read",
    ("limits", "NumberReplacer", "total = self._totals.total(counter.key) if self._totals else Decimal(0)"):
        "the else branch never runs: a refusal by a counter needs the daily totals, so _totals is set",
    ("place_order", "AddNot",
     "if TYPE_CHECKING:  # a buy loads neither the delivery's nor the lookups' models (its cold start)"):
        "the imports it guards are only named in annotations, which `from __future__ import annotations` never "
        "evaluates: importing them at run time too changes no behaviour, only a buy's cold start, which "
        "tests/test_architecture.py::test_a_task_loads_only_the_minted_models_of_its_own_calls fails on",
    ("order_book", "AddNot", "if TYPE_CHECKING:"):
        "the models it guards (Minted's Order and OrderResult) are only named in annotations, which `from "
        "__future__ import annotations` never evaluates; and every function that imports this module loads "
        "them anyway, its Minted calls answering with them: importing them at run time changes nothing",
    ("order_book", "NumberReplacer", '"claim_expires_at": 0,'):
        "written with SUBMITTED: a claim's expiry is read only while a row is RECEIVED (claim_is_stale, "
        "attention_due), and any past second means no live claim, as 0 does",
    ("place_order", "NumberReplacer", 'changes: dict[str, Any] = {"state": State.NOT_PLACED, "claim_expires_at": 0}'):
        "written with NOT_PLACED: a claim's expiry is read only while a row is RECEIVED, and any past second "
        "means no live claim, as 0 does",
    ("order_book", "NumberReplacer", "single = orders[0] if len(orders) == 1 else None"):
        "with exactly one order, orders[-1] is orders[0]",
    ("place_order", "NumberReplacer",
     """note = f"not placed: {exc.code}" + (f" ({exc.details[0].get('limit')})" if exc.details else "")"""):
        "a limit's refusal carries one detail: its last is its first",
    ("place_order", "NumberReplacer", "wait = max(1, math.ceil(stored.claim_expires_at - now.timestamp()))"):
        "only a live claim gets here (claim_is_stale: now < claim_expires_at), so the difference is above 0 and "
        "its ceiling at least 1: max(0, ...) and max(1, ...) give the same wait",
    ("place_order", "ReplaceTrueWithFalse", "sent_before: bool = True,"):
        "_settle passes sent_before on only to a buy it may make (may_buy); the one caller that may buy names "
        "it, and the one that takes the default (Minted refusing a duplicate external_id) may not buy",
    ("place_order", "ReplaceTrueWithFalse",
     'changes = {"state": State.REJECTED, "rejection": rejection.model_dump(exclude_none=True), '
     '"claim_expires_at": 0}'):
        "how a refusal's empty fields are stored: absent or null, the row reads back into the same Rejection, "
        "and order events carry only its code (events/order_events.py)",
    ("place_order", "ReplaceTrueWithFalse", "@dataclass(frozen=True)"):
        "OrderOutcome, a use case's answer: the handlers and the workflow read it and never assign to it; "
        "frozen forbids only what no code does",
    ("limits", "ReplaceComparisonOperator_Is_IsNot", "if total is None:"):
        "both callers pass the counter's total (read, or returned by DynamoDB with the refusal): reading it "
        "again when it is known gives the same number, and the None branch never runs",
    ("limits", "AddNot", "if total is None:"):
        "as `total is not None`: both callers pass the counter's total (read, or returned by DynamoDB with the "
        "refusal), reading it again when it is known gives the same number, and the None branch never runs",
    ("order_book", "NumberReplacer", 'changes["currency"] = currencies[0]'):
        "the orders of one buy are all in its quote's currency (Minted buys in the quote's currency): the "
        "first order's currency is the last's",
    ("limits", "AddNot", "total = self._totals.total(counter.key) if self._totals else Decimal(0)"):
        "in the branch that never runs (a refusal always comes with its counter's total)",
    ("limits", "ReplaceTrueWithFalse", "@dataclass(frozen=True)"):
        "a value object (a priced order, a counter): nothing assigns to one once made; frozen forbids only "
        "what no code does",
}  # fmt: skip


# A surviving mutant that does change what the code does, but only on the real service: no local
# stand-in behaves differently under it, so no test here can kill it. Not equivalent: kept by review.
NOT_KILLABLE_LOCALLY: dict[tuple[str, str, str], str] = {
    ("dynamodb_limits", "ReplaceTrueWithFalse",
     'response = self._client.get_item(TableName=self._table, Key={"counter": {"S": key}}, ConsistentRead=True)'):
        "on DynamoDB an eventually consistent read may miss a hold or give-back written a moment ago, so a "
        "refusal could name a stale total; moto and dynalite always read consistently, whatever ConsistentRead "
        "says, so no local test can see the difference (kept by review, not by a test)",
    ("dynamodb_limits", "ReplaceTrueWithFalse",
     'self._table: {"Keys": [{"counter": {"S": k}} for k in keys], "ConsistentRead": True,'):
        "on DynamoDB an eventually consistent read of the shards may miss a reservation a moment old: an order "
        "could be refused naming a stale remaining, or planned on a full shard (whose own condition then "
        "refuses it, and it reads again); the day's total still never passes the limit. moto and dynalite "
        "always read consistently, so no local test can see the difference (kept by review, not by a test)",
}  # fmt: skip


def why_equivalent(module: str, operator: str, code: str) -> str | None:
    """The reason a survivor changes nothing: listed above, or a rule that holds wherever it applies."""
    if operator == "ReplaceBinaryOperator_Mul_Div" and (", *," in code or code == "*,"):  # (on a line of its own)
        return "the `*` that makes the parameters after it keyword-only, as `/`: every caller names them anyway"
    if module == "dynamodb_limits" and code.startswith("time.sleep(random.uniform(0, 0.02 * 2 ** (attempt - 1)))"):
        return "how long a retry after a conflict waits (a jitter of milliseconds): longer or shorter waits " \
               "change no outcome; a negative one fails the conflict test"  # fmt: skip
    if module in ("place_order", "order_book") and operator == "NumberReplacer" and '"claim_expires_at": 0' in code:
        return "a claim's expiry is read only while a row is RECEIVED (claim_is_stale, attention_due); this " \
               "write leaves another state, and any past second means no live claim, as 0 does"  # fmt: skip
    if module == "limits" and operator == "ReplaceTrueWithFalse" and "frozen=True" in code:
        return "a value object (rules, a locked quote or line, a priced order, a counter): nothing assigns " \
               "to one once made; frozen forbids only what no code does"  # fmt: skip
    return EQUIVALENT.get((module, operator, code))


def main() -> int:
    budget = float(os.environ.get("MUTATE_BUDGET", "2400"))
    wanted = set(filter(None, os.environ.get("MUTATE_MODULES", "").split(",")))
    modules = [m for m in MODULES if not wanted or m.name in wanted]
    global TREE  # noqa: PLW0603 - one copy per set of modules: runs on different modules may overlap
    TREE = WORK / ("tree-" + "-".join(m.name for m in modules))
    deadline = time.monotonic() + budget
    if budget <= 0:  # MUTATE_BUDGET=0: write the report from the sessions as they are (a new reason, say)
        DOC.write_text(render(MODULES), encoding="utf-8")
        return 0
    copy_tree()
    for module in modules:
        session = prepare(module)
        left = deadline - time.monotonic()
        if left <= 0:
            print(f"==> mutate: budget spent before {module.name}; run make mutate again to go on", flush=True)
            continue
        print(f"==> mutate: {module.name} ({pending(session)} mutants to test, {left:.0f} s left)", flush=True)
        execute(module, session, left)
    DOC.write_text(render(MODULES), encoding="utf-8")
    print(f"==> mutate: wrote {DOC.relative_to(ROOT)}", flush=True)
    return 0


def copy_tree() -> None:
    """The tracked files as they are now (uncommitted changes included), and the npm tools the tests use."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,  # noqa: S607
                           capture_output=True, text=True).stdout.split()  # fmt: skip
    for name in files:
        source, target = ROOT / name, TREE / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if not (TREE / "node_modules").exists() and (ROOT / "node_modules").exists():
        (TREE / "node_modules").symlink_to(ROOT / "node_modules")


def digest(*parts: bytes) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(part)
    return hashed.hexdigest()[:16]


def session_of(module: Module) -> Path:
    """One session per version of the module and of the operators: its mutants are the same while they are."""
    source = (ROOT / module.path).read_bytes()
    return WORK / f"{module.name}-{digest(source, repr(EXCLUDED_OPERATORS).encode())}.sqlite"


def tests_digest(module: Module) -> str:
    """The tests as this run copied them (they may change in the working tree while it runs)."""
    return digest(*((TREE / name).read_bytes() for name in module.tests), repr(module).encode())


def prepare(module: Module) -> Path:
    """The module's session, made afresh when the module changed; when only its tests changed, the
    survivors are tested again (a new test may kill them) and the killed stay killed."""
    session = session_of(module)
    for stale in WORK.glob(f"{module.name}-*.sqlite"):
        if stale != session:
            stale.unlink()
    config = WORK / f"{module.name}.toml"
    command = f"{sys.executable} -m pytest -x -q -p no:cacheprovider --no-header -o addopts= {' '.join(module.tests)}"
    excluded = ", ".join(json.dumps(pattern) for pattern in EXCLUDED_OPERATORS)
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module.path}"\n'
        f"timeout = {module.timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n\n"
        '[cosmic-ray.distributor]\nname = "local"\n\n'
        f"[cosmic-ray.filters.operators-filter]\nexclude-operators = [{excluded}]\n",
        encoding="utf-8",
    )
    if not session.exists():
        cosmic("cosmic-ray", "init", str(config), str(session))
        cosmic("cr-filter-operators", str(session), str(config))
    tested_with = session.with_suffix(".tests")
    if not tested_with.exists() or tested_with.read_text(encoding="utf-8") != tests_digest(module):
        with sqlite3.connect(session) as db:
            db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
        tested_with.write_text(tests_digest(module), encoding="utf-8")
    return session


def execute(module: Module, session: Path, seconds: float) -> None:
    shutil.copy2(ROOT / module.path, TREE / module.path)  # no mutant left behind by an interrupted run
    process = subprocess.Popen([tool("cosmic-ray"), "exec", str(WORK / f"{module.name}.toml"), str(session)],
                               cwd=TREE, env=test_env())  # fmt: skip
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(timeout=60)
        print(f"==> mutate: budget spent during {module.name}; run make mutate again to go on", flush=True)
    finally:
        shutil.copy2(ROOT / module.path, TREE / module.path)


def test_env() -> dict[str, str]:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": f"{TREE / 'layers/minted'}:{TREE}"}


def tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def cosmic(*args: str) -> None:
    subprocess.run([tool(args[0]), *args[1:]], cwd=TREE, check=True, env=test_env(), capture_output=True)


def results(session: Path) -> list[tuple[dict[str, object], dict[str, object] | None]]:
    dumped = subprocess.run([tool("cosmic-ray"), "dump", str(session)], cwd=WORK, check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    return [tuple(json.loads(line)) for line in dumped.splitlines() if line.strip()]


def pending(session: Path) -> int:
    return sum(1 for _, result in results(session) if result is None)


@dataclass
class Survivor:
    line: int
    operator: str
    code: str
    mutant: str  # the line as the mutation wrote it
    reason: str | None


def survivors(module: Module, session: Path) -> tuple[dict[str, int], list[Survivor]]:
    counts = {"killed": 0, "survived": 0, "incompetent": 0, "not yet run": 0, "left out": 0}
    found: list[Survivor] = []
    source = (ROOT / module.path).read_text(encoding="utf-8").splitlines()
    for item, result in results(session):
        mutation = item["mutations"][0]  # type: ignore[index]
        if result is None:
            counts["not yet run"] += 1
        elif result["worker_outcome"] == "skipped":
            counts["left out"] += 1
        elif result["test_outcome"] == "survived":
            counts["survived"] += 1
            line = mutation["start_pos"][0]
            operator = mutation["operator_name"].removeprefix("core/")
            code = source[line - 1].strip()
            diff = str(result.get("diff") or "").splitlines()
            written = [d[1:].strip() for d in diff if d.startswith("+") and not d.startswith("+++")]
            mutant = written[0] if written else "?"
            local = NOT_KILLABLE_LOCALLY.get((module.name, operator, code))
            reason = f"**not killable locally** (not equivalent): {local}" if local else None
            found.append(Survivor(line, operator, code, mutant, reason or why_equivalent(module.name, operator, code)))
        elif result["test_outcome"] == "incompetent":
            counts["incompetent"] += 1
        else:
            counts["killed"] += 1
    return counts, sorted(found, key=lambda s: (s.line, s.operator))


def render(modules: list[Module]) -> str:
    lines = [
        "# Mutation testing",
        "",
        "Written by `make mutate` (scripts/mutate.py, cosmic-ray); do not edit by hand. Each module that",
        "holds a promise is mutated one small change at a time (a comparison, a boolean, an arithmetic",
        "sign, a constant, a branch or loop dropped), and the tests that cover it run against each mutant:",
        "a mutant the tests do not fail on *survived*. A survivor is either a gap in the tests (close it",
        "with a test) or an equivalent mutant, one that changes nothing the code does (its reason is below,",
        "from `EQUIVALENT` in scripts/mutate.py). *Incompetent* mutants do not run at all (killed by",
        "Python itself); *left out* are the operators scripts/mutate.py excludes, with its reason. A",
        "survivor marked *not killable locally* changes behaviour only on the real AWS service, which no",
        "local stand-in reproduces: it is kept by review (`NOT_KILLABLE_LOCALLY`), not by a test.",
        "It is not in CI: a full run takes longer than CI should (`MUTATE_BUDGET` seconds a run; a",
        "second run goes on where the first stopped).",
        "",
        "| module | tests | killed | survived | incompetent | not yet run | left out |",
        "|---|---|---|---|---|---|---|",
    ]
    details: list[str] = []
    unrun: list[str] = []
    for module in modules:
        session = session_of(module)
        if not session.exists():
            lines.append(f"| {module.path} | {', '.join(module.tests)} | - | - | - | not started | - |")
            continue
        counts, found = survivors(module, session)
        if counts["not yet run"]:
            unrun.append(f"{counts['not yet run']} mutants of {module.path}")
        lines.append(f"| {module.path} | {', '.join(module.tests)} | {counts['killed']} | {counts['survived']} | "
                     f"{counts['incompetent']} | {counts['not yet run']} | {counts['left out']} |")  # fmt: skip
        if found:
            details += [
                "",
                f"## {module.path}",
                "",
                "| line | mutation | the line as mutated | why it survives |",
                "|---|---|---|---|",
            ]
            for s in found:
                mutant = s.mutant.replace("|", "\\|")
                details.append(f"| {s.line} | {s.operator} | `{mutant}` | {s.reason or '**a gap: no test fails**'} |")
    if unrun:
        lines += ["", f"**Not yet run**: {'; '.join(unrun)}. Whether any of them survives is unknown until",
                  "`make mutate` runs again (it goes on where this run stopped)."]  # fmt: skip
    return "\n".join([*lines, *details]) + "\n"


if __name__ == "__main__":
    sys.exit(main())
