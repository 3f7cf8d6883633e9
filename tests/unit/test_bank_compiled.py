"""A bank built from its compiled snapshot behaves exactly like one built from validated items, lazily."""

from __future__ import annotations

import random

from exam_core.assembly import assemble
from exam_core.bank import Bank, LazyItem
from exam_core.bank_snapshot import decode, encode
from exam_core.models.bank import Blueprint, Item


def _both(bank_files: tuple[Blueprint, list[Item]]) -> tuple[Bank, Bank]:
    blueprint, items = bank_files
    eager = Bank.build(blueprint, items, 7)
    docs = [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items]
    raw_blueprint, index, raws = decode(encode(blueprint.model_dump(mode="json", by_alias=True), 7, docs), 7)
    return eager, Bank.build_compiled(Blueprint.model_validate(raw_blueprint), index, raws, 7)


def _validated(bank: Bank) -> set[str]:
    return {i for i, item in bank.items.items() if isinstance(item, LazyItem) and item._item is not None}


def test_the_compiled_bank_has_the_same_indexes_and_validates_nothing_up_front(
    bank_files: tuple[Blueprint, list[Item]],
) -> None:
    eager, compiled = _both(bank_files)

    assert compiled.domain_of_item == eager.domain_of_item
    assert compiled.info_at_cut == eager.info_at_cut
    assert compiled.target_info == eager.target_info
    assert {d: [i.id for i in pool] for d, pool in compiled.operational.items()} == {
        d: [i.id for i in pool] for d, pool in eager.operational.items()
    }
    assert {d: [i.id for i in pool] for d, pool in compiled.pretest.items()} == {
        d: [i.id for i in pool] for d, pool in eager.pretest.items()
    }
    assert _validated(compiled) == set()


def test_a_form_drawn_from_either_is_the_same_and_only_its_items_get_validated(
    bank_files: tuple[Blueprint, list[Item]],
) -> None:
    # Given the same bank both ways, and the same random draws
    eager, compiled = _both(bank_files)

    # When a full form is assembled from each
    a = assemble(eager, "full", random.Random(11))
    b = assemble(compiled, "full", random.Random(11))

    # Then the forms are identical (items, order, option order, table) ...
    assert a.to_json() == b.to_json()
    # ... and of the compiled bank only the served items were parsed
    served = {q.item_id for q in b.questions}
    assert _validated(compiled) == served
    assert len(served) == 65 < len(compiled.items)


def test_a_lazy_item_reads_like_the_item(bank_files: tuple[Blueprint, list[Item]]) -> None:
    eager, compiled = _both(bank_files)
    item_id = sorted(eager.items)[3]

    lazy = compiled.items[item_id]

    assert isinstance(lazy, LazyItem)
    assert lazy.full() == eager.items[item_id]
    assert (lazy.key, lazy.options, lazy.stem, lazy.reference) == (
        eager.items[item_id].key,
        eager.items[item_id].options,
        eager.items[item_id].stem,
        eager.items[item_id].reference,
    )
    assert compiled.option_text[item_id] == {o.id: o.text for o in eager.items[item_id].options}
    assert compiled.review_part(item_id)["tail_json"] == eager.review_part(item_id)["tail_json"]
