"""Two speed fixes for the local server's moto (development only, never deployed).

1. A faster ``TransactWriteItems``.

moto makes a transaction atomic by deep-copying every table the transaction names before it starts
(and its stream records too), so each save gets slower as the attempts table grows: 0.4 s per call at
5,000 items, which turns a few hundred local attempts into minutes. Here every condition is checked
first, against the state before the transaction (as DynamoDB does), and the writes are applied only
when all hold. The local server serialises requests to moto, so nothing interleaves. A write that
fails while being applied (a malformed expression: a bug the tests catch) could leave the earlier
writes of that transaction in place, which moto's snapshot would have undone.
"""

from __future__ import annotations

from typing import Any

_installed = False


def install() -> None:
    global _installed  # noqa: PLW0603 - patch once per process
    if _installed:
        return
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    def entry_key(table: Any, op_type: str, op: dict[str, Any]) -> Any:
        """The item key a transaction entry names (a Put carries it inside its item)."""
        if op_type != "Put":
            return op["Key"]
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        plans = []
        seen: set[tuple[str, str]] = set()
        errors: list[tuple[str | None, str | None, Any]] = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table_name = op["TableName"]
            key = entry_key(self.get_table(table_name), op_type, op)
            marker = (str(table_name), str(dict(sorted(key.items()))))
            if marker in seen:
                raise MultipleTransactionsException()
            seen.add(marker)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not check.expr(self.get_item(table_name, key)):
                    errors.append(("ConditionalCheckFailed", "The conditional request failed", None))
                    continue
            errors.append((None, None, None))
            plans.append((op_type, op, key))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        for op_type, op, key in plans:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(
                    op["TableName"], op["Item"], expression_attribute_names=names, expression_attribute_values=values
                )
            elif op_type == "Delete":
                self.delete_item(
                    op["TableName"], key, expression_attribute_names=names, expression_attribute_values=values
                )
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True


_query_installed = False


def install_partition_query() -> None:
    """moto answers every base-table Query by listing and sorting the whole table, so each read of an
    attempt gets slower as attempts pile up. Here a base-table Query sees only its own partition."""
    global _query_installed  # noqa: PLW0603 - patch once per process
    if _query_installed:
        return
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or hash_key is None or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key) or {}
        self.all_items = lambda: list(partition.values())  # shadows the method for this call only
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]
    _query_installed = True
