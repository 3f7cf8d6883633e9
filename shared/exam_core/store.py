"""The one module that talks to DynamoDB. Everything above it sees domain records and domain errors.

Items table (pk = exam id):      sk ``META`` (blueprint, bank version) and ``ITEM#<id>`` (one item);
pk ``EXAMS``, sk ``LIST``: the registry, the ids of every exam loaded (what ``GET /exams`` serves).
Attempts table (pk = attempt id): sk ``META`` (status, token hash, clock, revision, result, the set
of served question ids ``qs`` and the saved responses ``rs``, a map of question id to
``"<selected>|<flagged>|<savedAt>"``) and ``FORM`` (served form and conversion table, written once).

Access patterns, in DynamoDB calls: load a bank 1 query; start an attempt 1 transaction (META+FORM);
read an attempt 1 query; save responses 1 conditional UpdateItem of META that sets only the saved
questions' entries of ``rs`` (so two devices saving different questions never overwrite each other)
and bumps the revision; submit = that read + 1 conditional update of META on the revision it read,
so two submissions, or a save racing a submission, can never both win.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from exam_core.errors import AlreadyExists, StaleWrite, Throttled
from exam_core.models.records import (
    AttemptMeta,
    AttemptRecord,
    Completion,
    Form,
    IndexedAttempt,
    SaveGuard,
    StoredResponse,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# DynamoDB error codes that mean "busy, retry later" (503 database_busy): the one list, used by
# DynamoStore._call and, through is_retryable, by the Idempotency-Key records' Powertools layer.
RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)


def is_retryable(exc: BaseException) -> bool:
    """Whether ``exc``, or an error that caused it, is a DynamoDB failure worth retrying later.

    For errors from code that calls DynamoDB itself (Powertools' idempotency layer wraps botocore's
    errors in its own) rather than through ``DynamoStore._call``: a RETRYABLE code, or no answer in time.
    """
    from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError | ReadTimeoutError):
            return True
        if isinstance(seen, ClientError) and seen.response.get("Error", {}).get("Code") in RETRYABLE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class StoredBank:
    """A bank as read: its item documents, or (from a snapshot) an index row per item and each item's JSON,
    parsed only when ``items`` is read (``Bank.build_compiled`` builds from the index without parsing)."""

    __slots__ = ("_items", "blueprint", "docs", "index", "version")

    def __init__(
        self,
        blueprint: dict[str, Any],
        version: int,
        items: list[dict[str, Any]] | None = None,
        *,
        index: list[list[Any]] | None = None,
        docs: list[str] | None = None,
    ) -> None:
        self.blueprint = blueprint
        self.version = version
        self._items = items
        self.index = index
        self.docs = docs

    @property
    def items(self) -> list[dict[str, Any]]:
        if self._items is None:
            self._items = [json.loads(d) for d in self.docs or ()]
        return self._items


class Store(Protocol):
    """The data-access port. ``DynamoStore`` implements it; tests and benchmarks use an in-memory fake."""

    def load_bank(self, exam_id: str) -> StoredBank | None: ...
    def bank_version(self, exam_id: str) -> int | None: ...
    def exam_ids(self) -> list[str]: ...
    def put_bank(self, exam_id: str, blueprint: dict[str, Any], items: Sequence[dict[str, Any]]) -> int: ...
    def publish_bank_snapshot(self, exam_id: str) -> int | None: ...
    def create_attempt(self, meta: AttemptMeta, form: Form, form_ttl: int | None = None) -> None: ...
    def load_attempt(self, attempt_id: str) -> AttemptRecord | None: ...
    def save_responses(
        self, attempt_id: str, guard: SaveGuard, responses: Sequence[StoredResponse]
    ) -> tuple[AttemptMeta, dict[str, StoredResponse]]: ...
    def finish_attempt(self, attempt_id: str, expected_rev: int, completion: Completion) -> None: ...
    def extend_form(
        self,
        attempt_id: str,
        expected_rev: int,
        form: Form,
        responses: Sequence[StoredResponse],
        form_ttl: int | None = None,
    ) -> None: ...
    def claim_attempt(self, attempt_id: str, token_hash: str, candidate_id: str) -> None: ...
    def partner_attempts(
        self, partner_id: str, start: int, end: int, limit: int
    ) -> tuple[list[IndexedAttempt], bool]: ...
    def candidate_attempts(
        self, candidate_id: str, limit: int, after: str | None, status: str | None = None
    ) -> tuple[list[IndexedAttempt], str | None]: ...
    def add_report(
        self, exam_id: str, report: dict[str, Any], attempt_id: str, token_hash: str, limit: int
    ) -> None: ...
    def list_reports(self, exam_id: str, item_id: str | None = None) -> list[dict[str, Any]]: ...


class AdminStore(Protocol):
    """What the operator API and the statistics consumer need beyond ``Store``."""

    def load_bank(self, exam_id: str) -> StoredBank | None: ...
    def load_item(self, exam_id: str, item_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None: ...
    def put_items(self, exam_id: str, items: Sequence[dict[str, Any]]) -> int: ...
    def replace_item(self, exam_id: str, item: dict[str, Any], expected_version: int, audit: dict[str, Any]) -> int: ...
    def publish_bank_snapshot(self, exam_id: str) -> int | None: ...
    def add_report(
        self, exam_id: str, report: dict[str, Any], attempt_id: str, token_hash: str, limit: int
    ) -> None: ...
    def list_reports(self, exam_id: str, item_id: str | None = None) -> list[dict[str, Any]]: ...
    def claim_stats(self, exam_id: str, attempt_id: str) -> bool: ...
    def add_item_sums(self, exam_id: str, sums: Mapping[str, Mapping[str, float]], attempts: int) -> None: ...
    def load_item_stats(self, exam_id: str) -> dict[str, dict[str, Any]]: ...
    def add_calibration_rows(self, exam_id: str, rows: Sequence[tuple[str, str]]) -> None: ...
    def load_calibration_rows(self, exam_id: str) -> Iterator[str]: ...
    def put_calibration(self, exam_id: str, calibration_id: str, doc: dict[str, Any]) -> None: ...
    def get_calibration(self, exam_id: str, calibration_id: str) -> dict[str, Any] | None: ...
    def claim_calibration_run(self, exam_id: str, calibration_id: str, doc: dict[str, Any]) -> bool: ...
    def bank_version(self, exam_id: str) -> int | None: ...


# ------------------------------------------------------------------ marshalling (small, by hand:
# the records use five attribute types, and boto3's TypeSerializer would force Decimal everywhere)


def _s(v: str) -> dict[str, str]:
    return {"S": v}


def _n(v: int) -> dict[str, str]:
    return {"N": str(int(v))}


def _meta_item(m: AttemptMeta) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _s(m.attempt_id),
        "sk": _s("META"),
        "examId": _s(m.exam_id),
        "mode": _s(m.mode),
        "st": _s(m.status),
        "th": _s(m.token_hash),
        "startedAt": _n(m.started_at),
        "bankVersion": _n(m.bank_version),
        "rev": _n(m.rev),
        "timedOut": {"BOOL": m.timed_out},
    }
    optional: dict[str, Any] = {
        "expiresAt": m.expires_at,
        "durationSeconds": m.duration_seconds,
        "candidateId": m.candidate_id,
        "partnerId": m.partner_id,
        "submittedAt": m.submitted_at,
        "result": m.result_json,
        "sum": m.summary_json,
        "ttl": m.ttl,
    }
    for k, v in optional.items():
        if v is not None:
            item[k] = _s(v) if isinstance(v, str) else _n(v)
    return item


def _opt_n(item: dict[str, Any], key: str) -> int | None:
    return int(item[key]["N"]) if key in item else None


def _opt_s(item: dict[str, Any], key: str) -> str | None:
    return str(item[key]["S"]) if key in item else None


def _meta_from(item: dict[str, Any]) -> AttemptMeta:
    return AttemptMeta(
        attempt_id=item["pk"]["S"],
        exam_id=item["examId"]["S"],
        mode=item["mode"]["S"],
        status=item["st"]["S"],
        token_hash=item["th"]["S"],
        started_at=int(item["startedAt"]["N"]),
        expires_at=_opt_n(item, "expiresAt"),
        duration_seconds=_opt_n(item, "durationSeconds"),
        bank_version=int(item["bankVersion"]["N"]),
        rev=int(item["rev"]["N"]),
        candidate_id=_opt_s(item, "candidateId"),
        partner_id=_opt_s(item, "partnerId"),
        submitted_at=_opt_n(item, "submittedAt"),
        timed_out=bool(item.get("timedOut", {}).get("BOOL", False)),
        result_json=_opt_s(item, "result"),
        summary_json=_opt_s(item, "sum"),
        ttl=_opt_n(item, "ttl"),
    )


def _response_value(r: StoredResponse) -> dict[str, str]:
    return _s(f"{''.join(r.selected)}|{int(r.flagged)}|{r.saved_at}")


def _responses_from(item: dict[str, Any]) -> dict[str, StoredResponse]:
    out: dict[str, StoredResponse] = {}
    for qid, value in item.get("rs", {}).get("M", {}).items():
        selected, flagged, saved_at = value["S"].split("|")
        out[qid] = StoredResponse(qid, list(selected), flagged == "1", int(saved_at))
    return out


def _set_responses(responses: Sequence[StoredResponse], names: dict[str, str], values: dict[str, Any]) -> list[str]:
    """``rs.#rN = :rN`` clauses for each response (names and values added to the expression maps)."""
    clauses = []
    for i, r in enumerate(responses):
        names[f"#r{i}"] = r.question_id
        values[f":r{i}"] = _response_value(r)
        clauses.append(f"rs.#r{i} = :r{i}")
    return clauses


def _indexed_from(item: dict[str, Any]) -> IndexedAttempt:
    return IndexedAttempt(
        attempt_id=item["pk"]["S"],
        exam_id=item["examId"]["S"],
        mode=item["mode"]["S"],
        status=item["st"]["S"],
        started_at=int(item["startedAt"]["N"]),
        summary_json=_opt_s(item, "sum"),
    )


class DynamoStore:
    def __init__(self, items_table: str, attempts_table: str, client: DynamoDBClient | None = None) -> None:
        self.items_table = items_table
        self.attempts_table = attempts_table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = make_client()
        return self._client

    def idempotency_layer(self, table: str) -> Any:
        """Powertools' DynamoDB persistence layer for Idempotency-Key records, on this store's client."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=table, boto3_client=self.client)

    # -------------------------------------------------------------- error mapping

    def _call(self, op: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

        try:
            return getattr(self.client, op)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in RETRYABLE:
                raise Throttled("the database is busy; retry shortly", code="database_busy") from exc
            if code == "ConditionalCheckFailedException":
                raise StaleWrite(op) from exc
            if code == "TransactionCanceledException":
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons:
                    raise StaleWrite(op) from exc
                raise Throttled("the database is busy; retry shortly", code="database_busy") from exc
            raise
        except (ConnectionError, ReadTimeoutError) as exc:
            raise Throttled("the database did not answer in time; retry shortly", code="database_timeout") from exc

    def _batch_put(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem in chunks of 25, retrying unprocessed items with backoff (bounded)."""
        for chunk in _chunks(requests, 25):
            pending: list[dict[str, Any]] = chunk
            for attempt in range(8):
                out = self._call("batch_write_item", RequestItems={self.items_table: pending})
                pending = out.get("UnprocessedItems", {}).get(self.items_table, [])
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            if pending:
                raise Throttled("could not write everything; run it again", code="database_busy")

    # -------------------------------------------------------------- bank

    def _query_all(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self._call("query", **kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def load_bank(self, exam_id: str) -> StoredBank | None:
        """The bank's META, then its snapshot (one BatchGetItem; see exam_core.bank_snapshot) or, if it has
        none for this version, every item by a paged Query."""
        meta = self._call("get_item", TableName=self.items_table, Key={"pk": _s(exam_id), "sk": _s("META")}).get("Item")
        if meta is None:
            return None
        blueprint = json.loads(meta["blueprint"]["S"])
        version = int(meta["version"]["N"])
        snap = meta.get("snap", {}).get("M")
        if snap is not None and int(snap["v"]["N"]) == version:
            compiled = self._read_snapshot(exam_id, version, int(snap["n"]["N"]))
            if compiled is not None:
                return StoredBank(blueprint, version, index=compiled[0], docs=compiled[1])
        items = [json.loads(it["doc"]["S"]) for it in self._item_rows(exam_id)]
        return StoredBank(blueprint, version, items)

    def _item_rows(self, exam_id: str, **query: Any) -> Iterator[dict[str, Any]]:
        """Every ``ITEM#`` row of an exam (not META, not snapshot chunks), by a paged Query."""
        return self._query_all(
            TableName=self.items_table,
            KeyConditionExpression="pk = :e AND begins_with(sk, :i)",
            ExpressionAttributeValues={":e": _s(exam_id), ":i": _s("ITEM#")},
            **query,
        )

    def _read_snapshot(self, exam_id: str, version: int, count: int) -> tuple[list[list[Any]], list[str]] | None:
        from exam_core.bank_snapshot import chunk_key, decode

        keys = [{"pk": _s(exam_id), "sk": _s(chunk_key(version, n))} for n in range(count)]
        found: dict[str, bytes] = {}
        for attempt in range(5):
            out = self._call(
                "batch_get_item",
                RequestItems={self.items_table: {"Keys": keys, "ProjectionExpression": "sk, z"}},
            )
            for it in out.get("Responses", {}).get(self.items_table, []):
                found[it["sk"]["S"]] = bytes(it["z"]["B"])
            keys = out.get("UnprocessedKeys", {}).get(self.items_table, {}).get("Keys", [])
            if not keys:
                break
            time.sleep(0.02 * 2**attempt)
        if len(found) != count:
            return None  # a chunk replaced under us or not yet readable: the Query is always right
        try:
            _, index, docs = decode([found[chunk_key(version, n)] for n in range(count)], version)
            return index, docs
        except ValueError:
            return None

    def publish_bank_snapshot(self, exam_id: str) -> int | None:
        """Compile the bank as it is now into a snapshot and point META at it; the chunk count, or None if
        the bank changed meanwhile (its writer publishes) or does not exist. Deletes snapshots older than
        the previous one. Called once after every bank write (loader, admin import and edit, calibration)."""
        from exam_core.bank_snapshot import chunk_key, encode, is_snapshot_key, snapshot_version

        meta = self._call(
            "get_item",
            TableName=self.items_table,
            Key={"pk": _s(exam_id), "sk": _s("META")},
            ConsistentRead=True,
        ).get("Item")
        if meta is None:
            return None
        version = int(meta["version"]["N"])
        items = [json.loads(it["doc"]["S"]) for it in self._item_rows(exam_id, ConsistentRead=True)]
        chunks = encode(json.loads(meta["blueprint"]["S"]), version, items)
        self._batch_put(
            [
                {"PutRequest": {"Item": {"pk": _s(exam_id), "sk": _s(chunk_key(version, n)), "z": {"B": chunk}}}}
                for n, chunk in enumerate(chunks)
            ]
        )
        try:
            self._call(
                "update_item",
                TableName=self.items_table,
                Key={"pk": _s(exam_id), "sk": _s("META")},
                UpdateExpression="SET snap = :m",
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":m": {"M": {"v": _n(version), "n": _n(len(chunks))}}, ":v": _n(version)},
            )
        except StaleWrite:
            return None
        old = [
            it["sk"]["S"]
            for it in self._query_all(
                TableName=self.items_table,
                KeyConditionExpression="pk = :e AND begins_with(sk, :s)",
                ExpressionAttributeValues={":e": _s(exam_id), ":s": _s("SNAP#")},
                ProjectionExpression="sk",
            )
        ]
        stale = [sk for sk in old if is_snapshot_key(sk) and snapshot_version(sk) < version - 1]
        if stale:
            self._batch_put([{"DeleteRequest": {"Key": {"pk": _s(exam_id), "sk": _s(sk)}}} for sk in stale])
        return len(chunks)

    def bank_version(self, exam_id: str) -> int | None:
        out = self._call(
            "get_item",
            TableName=self.items_table,
            Key={"pk": _s(exam_id), "sk": _s("META")},
            ProjectionExpression="version",
        )
        item = out.get("Item")
        return int(item["version"]["N"]) if item else None

    def put_bank(self, exam_id: str, blueprint: dict[str, Any], items: Sequence[dict[str, Any]]) -> int:
        """Write every item, then bump the bank version (so caches reload once everything is in).

        An item's record is replaced whole, so the audit history its patches recorded is read first and
        written back with it: loading the files again never erases who changed what (a patch landing
        between the read and the write could still lose its entry; loads are operator runs)."""
        histories = self._histories(exam_id)
        self._batch_put([{"PutRequest": {"Item": _bank_item(exam_id, dict(it), histories)}} for it in items])
        out = self._call(
            "update_item",
            TableName=self.items_table,
            Key={"pk": _s(exam_id), "sk": _s("META")},
            UpdateExpression="SET blueprint = :b, version = if_not_exists(version, :z) + :one",
            ExpressionAttributeValues={
                ":b": _s(json.dumps(blueprint, separators=(",", ":"), sort_keys=True)),
                ":z": _n(0),
                ":one": _n(1),
            },
            ReturnValues="UPDATED_NEW",
        )
        # The registry, after META: an exam it names always has its blueprint (ADD to a set: idempotent).
        self._call(
            "update_item",
            TableName=self.items_table,
            Key=_EXAMS_KEY,
            UpdateExpression="ADD ids :e",
            ExpressionAttributeValues={":e": {"SS": [exam_id]}},
        )
        return int(out["Attributes"]["version"]["N"])

    def exam_ids(self) -> list[str]:
        """The ids of every exam loaded, sorted (the registry ``put_bank`` keeps): one GetItem."""
        out = self._call("get_item", TableName=self.items_table, Key=_EXAMS_KEY, ProjectionExpression="ids")
        return sorted(out.get("Item", {}).get("ids", {}).get("SS", []))

    # -------------------------------------------------------------- attempts

    def create_attempt(self, meta: AttemptMeta, form: Form, form_ttl: int | None = None) -> None:
        """META and FORM in one transaction. FORM, written once, gets the longest time-to-live the attempt
        can reach (``form_ttl``), so a submission changes only META's and stays a single-item write."""
        form_item: dict[str, Any] = {"pk": _s(meta.attempt_id), "sk": _s("FORM"), "form": _s(form.to_json())}
        if form_ttl is not None:
            form_item["ttl"] = _n(form_ttl)
        meta_item = _meta_item(meta)
        meta_item["rs"] = {"M": {}}
        if form.questions:  # a string set cannot be empty
            meta_item["qs"] = {"SS": [q.question_id for q in form.questions]}
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.attempts_table,
                            "Item": meta_item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self.attempts_table, "Item": form_item}},
                ],
            )
        except StaleWrite as exc:
            # A retried transaction whose first try was applied but whose answer was lost finds its own
            # attempt. AWS makes such a retry a no-op through the client request token botocore sends;
            # emulators may not, so check: the same token hash means this request wrote it.
            out = self._call(
                "get_item",
                TableName=self.attempts_table,
                Key={"pk": _s(meta.attempt_id), "sk": _s("META")},
                ProjectionExpression="th",
                ConsistentRead=True,
            )
            stored = str(out.get("Item", {}).get("th", {}).get("S", ""))
            if hmac.compare_digest(stored, meta.token_hash):
                return
            raise AlreadyExists(meta.attempt_id) from exc

    def load_attempt(self, attempt_id: str) -> AttemptRecord | None:
        meta: AttemptMeta | None = None
        form: Form | None = None
        responses: dict[str, StoredResponse] = {}
        for it in self._query_all(
            TableName=self.attempts_table,
            KeyConditionExpression="pk = :a",
            ExpressionAttributeValues={":a": _s(attempt_id)},
            ConsistentRead=True,
        ):
            sk = it["sk"]["S"]
            if sk == "META":
                meta = _meta_from(it)
                responses = _responses_from(it)
            elif sk == "FORM":
                form = Form.from_json(it["form"]["S"])
        if meta is None or form is None:
            return None
        return AttemptRecord(meta=meta, form=form, responses=responses)

    def save_responses(
        self, attempt_id: str, guard: SaveGuard, responses: Sequence[StoredResponse]
    ) -> tuple[AttemptMeta, dict[str, StoredResponse]]:
        """Set each response's entry in META's ``rs`` map with one conditional UpdateItem; no read first.

        The condition checks everything a read would have: the token's hash (or the owner), the route's
        modes and partner, the time-to-live, in progress, not past ``expiresAt``, and that every question
        id is one this attempt served (``contains(qs, ...)``). A save that arrives after the submission
        fails instead of being silently dropped. Returns the attempt as it is after the write (ALL_NEW
        costs no read capacity).
        """
        g = guard
        names: dict[str, str] = {"#st": "st", "#m": "mode", "#ttl": "ttl"}
        values: dict[str, Any] = {
            ":one": _n(1),
            ":ip": _s("in_progress"),
            ":t": _n(g.not_expired_at),
            ":now": _n(g.now),
        }
        conditions = ["#st = :ip", "(attribute_not_exists(expiresAt) OR expiresAt >= :t)"]
        conditions.append("(attribute_not_exists(#ttl) OR #ttl >= :now)")
        if g.token_hash is not None:
            values[":th"] = _s(g.token_hash)
            conditions.append("th = :th")
        if g.candidate_id is not None:
            values[":c"] = _s(g.candidate_id)
            conditions.append("candidateId = :c")
        if g.partner_id is not None:
            values[":p"] = _s(g.partner_id)
            conditions.append("partnerId = :p")
        modes = sorted(g.modes)
        values.update({f":m{i}": _s(m) for i, m in enumerate(modes)})
        conditions.append(f"#m IN ({', '.join(f':m{i}' for i in range(len(modes)))})")
        for i, r in enumerate(responses):
            values[f":q{i}"] = _s(r.question_id)
            conditions.append(f"contains(qs, :q{i})")
        clauses = _set_responses(responses, names, values)
        out = self._call(
            "update_item",
            TableName=self.attempts_table,
            Key={"pk": _s(attempt_id), "sk": _s("META")},
            UpdateExpression="SET rev = rev + :one, " + ", ".join(clauses),
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        item = out["Attributes"]
        return _meta_from(item), _responses_from(item)

    def finish_attempt(self, attempt_id: str, expected_rev: int, completion: Completion) -> None:
        """Store the result if nothing changed since the read (same revision, still in progress).

        Final responses sent with the submission go into the same update, so they are scored and
        stored together or not at all. A new time-to-live (anonymous attempts) is set on META only:
        FORM was written with one that outlasts it.
        """
        c = completion
        names: dict[str, str] = {"#r": "result", "#s": "sum"}
        values: dict[str, Any] = {
            ":sub": _s("submitted"),
            ":at": _n(c.submitted_at),
            ":to": {"BOOL": c.timed_out},
            ":res": _s(c.result_json),
            ":sum": _s(c.summary_json),
            ":ip": _s("in_progress"),
            ":rev": _n(expected_rev),
            ":one": _n(1),
        }
        sets = ["st = :sub", "submittedAt = :at", "timedOut = :to", "#r = :res", "#s = :sum", "rev = rev + :one"]
        sets += _set_responses(c.final, names, values)
        if c.ttl is not None:
            names["#ttl"] = "ttl"
            values[":ttl"] = _n(c.ttl)
            sets.append("#ttl = :ttl")
        update = {
            "TableName": self.attempts_table,
            "Key": {"pk": _s(attempt_id), "sk": _s("META")},
            # The served-id set only guards saves; a submitted attempt takes no more.
            "UpdateExpression": "SET " + ", ".join(sets) + " REMOVE qs",
            "ConditionExpression": "st = :ip AND rev = :rev",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        self._call("update_item", **update)

    def extend_form(
        self,
        attempt_id: str,
        expected_rev: int,
        form: Form,
        responses: Sequence[StoredResponse],
        form_ttl: int | None = None,
    ) -> None:
        """An adaptive diagnostic's next stage in one transaction, on the revision that was read.

        META takes the finished stage's responses and the new question ids (``qs``) if it is still in
        progress at ``expected_rev``; FORM is replaced by ``form``, the served questions so far (and, after
        the last stage, the conversion table). A lost race is a ``StaleWrite``.
        """
        names: dict[str, str] = {}
        values: dict[str, Any] = {
            ":ip": _s("in_progress"),
            ":rev": _n(expected_rev),
            ":one": _n(1),
            ":qs": {"SS": [q.question_id for q in form.questions]},
        }
        sets = ["rev = rev + :one", *_set_responses(responses, names, values)]
        update: dict[str, Any] = {
            "TableName": self.attempts_table,
            "Key": {"pk": _s(attempt_id), "sk": _s("META")},
            "UpdateExpression": "SET " + ", ".join(sets) + " ADD qs :qs",
            "ConditionExpression": "st = :ip AND rev = :rev",
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        form_item: dict[str, Any] = {"pk": _s(attempt_id), "sk": _s("FORM"), "form": _s(form.to_json())}
        if form_ttl is not None:
            form_item["ttl"] = _n(form_ttl)
        self._call(
            "transact_write_items",
            TransactItems=[{"Update": update}, {"Put": {"TableName": self.attempts_table, "Item": form_item}}],
        )

    def claim_attempt(self, attempt_id: str, token_hash: str, candidate_id: str) -> None:
        """Give an anonymous attempt to a candidate and stop its time-to-live, both items at once."""
        meta = {
            "Update": {
                "TableName": self.attempts_table,
                "Key": {"pk": _s(attempt_id), "sk": _s("META")},
                "UpdateExpression": "SET candidateId = :c REMOVE #ttl",
                "ConditionExpression": "th = :th AND (attribute_not_exists(candidateId) OR candidateId = :c)",
                "ExpressionAttributeNames": {"#ttl": "ttl"},
                "ExpressionAttributeValues": {":c": _s(candidate_id), ":th": _s(token_hash)},
            }
        }
        form = {
            "Update": {
                "TableName": self.attempts_table,
                "Key": {"pk": _s(attempt_id), "sk": _s("FORM")},
                "UpdateExpression": "REMOVE #ttl",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": {"#ttl": "ttl"},
            }
        }
        self._call("transact_write_items", TransactItems=[meta, form])

    def partner_attempts(self, partner_id: str, start: int, end: int, limit: int) -> tuple[list[IndexedAttempt], bool]:
        """A partner's attempts started in [start, end], newest first, at most ``limit`` (then truncated)."""
        out: list[IndexedAttempt] = []
        kwargs: dict[str, Any] = {
            "TableName": self.attempts_table,
            "IndexName": "byPartner",
            "KeyConditionExpression": "partnerId = :p AND startedAt BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":p": _s(partner_id), ":a": _n(start), ":b": _n(end)},
            "ScanIndexForward": False,
        }
        for it in self._query_all(**kwargs):
            if len(out) >= limit:
                return out, True
            out.append(_indexed_from(it))
        return out, False

    def candidate_attempts(
        self, candidate_id: str, limit: int, after: str | None, status: str | None = None
    ) -> tuple[list[IndexedAttempt], str | None]:
        """One page of a candidate's attempts, newest first (one Query on the byCandidate index)."""
        kwargs: dict[str, Any] = {
            "TableName": self.attempts_table,
            "IndexName": "byCandidate",
            "KeyConditionExpression": "candidateId = :c",
            "ExpressionAttributeValues": {":c": _s(candidate_id)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after:
            kwargs["ExclusiveStartKey"] = json.loads(after)
        if status:
            kwargs["FilterExpression"] = "st = :st"
            kwargs["ExpressionAttributeValues"][":st"] = _s(status)
        page = self._call("query", **kwargs)
        nxt = page.get("LastEvaluatedKey")
        return [_indexed_from(i) for i in page.get("Items", [])], (json.dumps(nxt) if nxt else None)

    # -------------------------------------------------------------- bank administration

    def load_item(self, exam_id: str, item_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """One item's document and its audit history (newest last)."""
        out = self._call(
            "get_item",
            TableName=self.items_table,
            Key={"pk": _s(exam_id), "sk": _s(f"ITEM#{item_id}")},
            ConsistentRead=True,
        )
        item = out.get("Item")
        if not item:
            return None
        history = json.loads(item["history"]["S"]) if "history" in item else []
        return json.loads(item["doc"]["S"]), history

    def _histories(self, exam_id: str) -> dict[str, dict[str, Any]]:
        """Each item's recorded history attribute, by sort key (items never patched have none)."""
        rows = self._item_rows(
            exam_id,
            FilterExpression="attribute_exists(history)",
            ProjectionExpression="sk, history",
            ConsistentRead=True,
        )
        return {it["sk"]["S"]: it["history"] for it in rows}

    def put_items(self, exam_id: str, items: Sequence[dict[str, Any]]) -> int:
        """Write validated items (new or replacing) and bump the bank version: one transaction per 99."""
        histories = self._histories(exam_id)  # kept, as in put_bank
        for chunk in _chunks([dict(i) for i in items], 99):
            actions: list[dict[str, Any]] = [
                {"Put": {"TableName": self.items_table, "Item": _bank_item(exam_id, it, histories)}} for it in chunk
            ]
            actions.append(_bump_version(self.items_table, exam_id))
            self._call("transact_write_items", TransactItems=actions)
        return self.bank_version(exam_id) or 0

    def replace_item(self, exam_id: str, item: dict[str, Any], expected_version: int, audit: dict[str, Any]) -> int:
        """Replace an item if nobody changed it since it was read; append to its history; bump the bank."""
        current = self.load_item(exam_id, item["id"])
        history = (current[1] if current else []) + [audit]
        record = _bank_item(exam_id, item)
        record["history"] = _s(json.dumps(history, separators=(",", ":")))
        self._call(
            "transact_write_items",
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.items_table,
                        "Item": record,
                        "ConditionExpression": "itemVersion = :v",
                        "ExpressionAttributeValues": {":v": _n(expected_version)},
                    }
                },
                _bump_version(self.items_table, exam_id),
            ],
        )
        return int(item.get("version", 1))

    # -------------------------------------------------------------- problem reports

    def add_report(self, exam_id: str, report: dict[str, Any], attempt_id: str, token_hash: str, limit: int) -> None:
        """One report per attempt and question, at most ``limit`` per attempt, token checked: one transaction."""
        self._call(
            "transact_write_items",
            TransactItems=[
                {
                    "Update": {
                        "TableName": self.attempts_table,
                        "Key": {"pk": _s(attempt_id), "sk": _s("META")},
                        "UpdateExpression": "SET reports = if_not_exists(reports, :z) + :one",
                        "ConditionExpression": "th = :th AND (attribute_not_exists(reports) OR reports < :lim)",
                        "ExpressionAttributeValues": {
                            ":z": _n(0),
                            ":one": _n(1),
                            ":th": _s(token_hash),
                            ":lim": _n(limit),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self.items_table,
                        "Item": {
                            "pk": _s(f"REPORTS#{exam_id}"),
                            "sk": _s(f"{report['itemId']}#{attempt_id}#{report['questionId']}"),
                            "doc": _s(json.dumps(report, separators=(",", ":"))),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ],
        )

    def list_reports(self, exam_id: str, item_id: str | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.items_table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": _s(f"REPORTS#{exam_id}")},
        }
        if item_id:
            kwargs["KeyConditionExpression"] += " AND begins_with(sk, :i)"
            kwargs["ExpressionAttributeValues"][":i"] = _s(f"{item_id}#")
        return [json.loads(it["doc"]["S"]) for it in self._query_all(**kwargs)]

    # -------------------------------------------------------------- item statistics (sufficient sums)

    def claim_stats(self, exam_id: str, attempt_id: str) -> bool:
        """Mark an attempt as counted (False if it already was: a redelivered stream record)."""
        try:
            self._call(
                "put_item",
                TableName=self.items_table,
                Item={"pk": _s(f"STATSDONE#{exam_id}"), "sk": _s(attempt_id)},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except StaleWrite:
            return False
        return True

    def add_item_sums(self, exam_id: str, sums: Mapping[str, Mapping[str, float]], attempts: int) -> None:
        """ADD a batch's aggregated sums, one Update per item touched plus the attempt counter, sent as
        transactions of up to 100 (a batch of 50 attempts touches a few hundred items: 3-4 calls, not
        hundreds; a transaction costs twice the write units of single updates, which at these sizes is
        cents per hundred thousand attempts). A conflict with another consumer's transaction on the same
        item is retried with backoff; the sums are all or nothing per transaction."""
        updates = {**sums, "_TOTAL": {"attempts": attempts}}
        actions = []
        for item_id, fields in sorted(updates.items()):
            names: dict[str, str] = {}
            values: dict[str, Any] = {}
            parts = []
            for i, (field, amount) in enumerate(sorted(fields.items())):
                names[f"#f{i}"] = field
                values[f":v{i}"] = {"N": format(round(amount, 6), "g") if isinstance(amount, float) else str(amount)}
                parts.append(f"#f{i} :v{i}")
            actions.append(
                {
                    "Update": {
                        "TableName": self.items_table,
                        "Key": {"pk": _s(f"STATS#{exam_id}"), "sk": _s(item_id)},
                        "UpdateExpression": "ADD " + ", ".join(parts),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        for chunk in _chunks(actions, 100):
            for attempt in range(6):
                try:
                    self._call("transact_write_items", TransactItems=chunk)
                    break
                except Throttled:  # TransactionConflict (another consumer on the same items), throttling
                    if attempt == 5:
                        raise
                    time.sleep(0.05 * 2**attempt)

    def load_item_stats(self, exam_id: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for it in self._query_all(
            TableName=self.items_table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": _s(f"STATS#{exam_id}")},
        ):
            out[it["sk"]["S"]] = {k: float(v["N"]) for k, v in it.items() if "N" in v}
        return out

    # -------------------------------------------------------------- calibration data and reports

    def add_calibration_rows(self, exam_id: str, rows: Sequence[tuple[str, str]]) -> None:
        """One compact row per submitted attempt: ``itemId=0|1`` for every item it was served."""
        self._batch_put(
            [
                {"PutRequest": {"Item": {"pk": _s(f"CALDATA#{exam_id}"), "sk": _s(attempt_id), "r": _s(row)}}}
                for attempt_id, row in rows
            ]
        )

    def load_calibration_rows(self, exam_id: str) -> Iterator[str]:
        for it in self._query_all(
            TableName=self.items_table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": _s(f"CALDATA#{exam_id}")},
        ):
            yield str(it["r"]["S"])

    def put_calibration(self, exam_id: str, calibration_id: str, doc: dict[str, Any]) -> None:
        self._call(
            "put_item",
            TableName=self.items_table,
            Item={
                "pk": _s(f"CALIBRATIONS#{exam_id}"),
                "sk": _s(calibration_id),
                "doc": _s(json.dumps(doc, separators=(",", ":"))),
                "st": _s(str(doc.get("status", "done"))),  # a run's state, for claim_calibration_run's condition
            },
        )

    def get_calibration(self, exam_id: str, calibration_id: str) -> dict[str, Any] | None:
        out = self._call(
            "get_item",
            TableName=self.items_table,
            Key={"pk": _s(f"CALIBRATIONS#{exam_id}"), "sk": _s(calibration_id)},
        )
        item = out.get("Item")
        return json.loads(item["doc"]["S"]) if item else None

    def claim_calibration_run(self, exam_id: str, calibration_id: str, doc: dict[str, Any]) -> bool:
        """Move a queued run to ``doc`` (running) in one conditional write: False if it is not queued (already
        claimed by another delivery of the same event, finished, or never stored), so a run executes once."""
        try:
            self._call(
                "update_item",
                TableName=self.items_table,
                Key={"pk": _s(f"CALIBRATIONS#{exam_id}"), "sk": _s(calibration_id)},
                UpdateExpression="SET doc = :d, st = :running",
                ConditionExpression="st = :queued",
                ExpressionAttributeValues={
                    ":d": _s(json.dumps(doc, separators=(",", ":"))),
                    ":running": _s("running"),
                    ":queued": _s("queued"),
                },
            )
        except StaleWrite:
            return False
        return True


# The exam registry's key. Exam ids are lower case (models.api.ExamId), so no exam's pk can be "EXAMS".
_EXAMS_KEY = {"pk": _s("EXAMS"), "sk": _s("LIST")}


def _bank_item(exam_id: str, it: dict[str, Any], histories: Mapping[str, Any] | None = None) -> dict[str, Any]:
    record = {
        "pk": _s(exam_id),
        "sk": _s(f"ITEM#{it['id']}"),
        "doc": _s(json.dumps(it, separators=(",", ":"), sort_keys=True)),
        "status": _s(it["status"]),
        "task": _s(it["task"]),
        "itemVersion": _n(it.get("version", 1)),
    }
    history = (histories or {}).get(record["sk"]["S"])
    if history is not None:
        record["history"] = history
    return record


def _bump_version(table: str, exam_id: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": _s(exam_id), "sk": _s("META")},
            "UpdateExpression": "SET version = version + :one",
            "ConditionExpression": "attribute_exists(version)",
            "ExpressionAttributeValues": {":one": _n(1)},
        }
    }


def _chunks(seq: Sequence[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(seq), size):
        yield list(seq[i : i + size])


def make_client() -> DynamoDBClient:
    """A DynamoDB client with bounded retries and timeouts well under the function's timeout."""
    import boto3
    from botocore.config import Config

    from exam_core.settings import get_settings

    # Worst case per call: 3 attempts x (1 s connect + 1 s read) + ~3 s of backoff = 9 s; a request makes
    # at most two calls in a row on its success path (read, then conditional write), so 18 s stays under
    # the API functions' 20 s Timeout, itself under API Gateway's 29 s (tests/unit/test_retry_budget.py).
    # DynamoDB answers in milliseconds; a call that takes a second is better retried than waited on.
    settings = get_settings()
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=settings.dynamodb_connect_timeout,
        read_timeout=settings.dynamodb_read_timeout,
        tcp_keepalive=True,
    )
    return boto3.client("dynamodb", endpoint_url=settings.aws_endpoint_url, config=config)
