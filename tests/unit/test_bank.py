"""The item bank: validation that names item and field, and the per-domain, per-status indexes."""

from __future__ import annotations

import pytest
from exam_core.bank import Bank, BankValidationError, ItemError, parse_items
from exam_core.blueprint import form_plan
from exam_core.models.bank import Blueprint, Item
from exam_core.scoring import rasch_probability

from tests.unit.helpers import make_item, raw_item, tiny_blueprint


def errors_of(blueprint: Blueprint, raw: list[dict]) -> list[ItemError]:
    with pytest.raises(BankValidationError) as exc:
        parse_items(blueprint, raw)
    return exc.value.errors


def by_item(errors: list[ItemError]) -> dict[str, list[ItemError]]:
    out: dict[str, list[ItemError]] = {}
    for e in errors:
        out.setdefault(e.item_id, []).append(e)
    return out


def _bad_key_size() -> dict:
    return raw_item("bad-key", type="multiple", selectCount=2, key=["a"])


def _duplicate_option_text() -> dict:
    doc = raw_item("dup-text")
    doc["options"][1]["text"] = "  " + doc["options"][0]["text"].upper() + " "
    return doc


def _missing_explanation() -> dict:
    doc = raw_item("no-expl")
    del doc["options"][2]["explanation"]
    return doc


# ---------------------------------------------------------------- parse_items: one error at a time


def test_given_valid_items_then_parse_items_returns_models_in_order() -> None:
    items = parse_items(tiny_blueprint(), [raw_item("ok-1"), raw_item("ok-2", task="2.1")])
    assert [i.id for i in items] == ["ok-1", "ok-2"]
    assert all(isinstance(i, Item) for i in items)


def test_given_key_size_not_matching_select_count_then_error_names_the_item_and_both_fields() -> None:
    [error] = errors_of(tiny_blueprint(), [_bad_key_size()])
    assert error.item_id == "bad-key"
    assert "key has 1 options but selectCount is 2" in error.message


def test_given_unknown_task_statement_then_error_names_item_and_task_field() -> None:
    [error] = errors_of(tiny_blueprint(), [raw_item("lost", task="9.9")])
    assert (error.item_id, error.field) == ("lost", "task")
    assert "9.9" in error.message


def test_given_duplicate_item_id_then_the_second_occurrence_is_reported_on_the_id_field() -> None:
    [error] = errors_of(tiny_blueprint(), [raw_item("twice"), raw_item("twice", task="2.1")])
    assert (error.item_id, error.field, error.message) == ("twice", "id", "duplicate item id")


def test_given_option_texts_equal_up_to_case_and_spaces_then_duplicate_option_text_error() -> None:
    [error] = errors_of(tiny_blueprint(), [_duplicate_option_text()])
    assert error.item_id == "dup-text"
    assert "duplicate option texts" in error.message


def test_given_missing_option_explanation_then_error_names_the_option_path() -> None:
    [error] = errors_of(tiny_blueprint(), [_missing_explanation()])
    assert (error.item_id, error.field) == ("no-expl", "options.2.explanation")
    assert "required" in error.message.lower()


def test_given_too_short_explanation_then_error_names_the_option_path() -> None:
    doc = raw_item("short-expl")
    doc["options"][0]["explanation"] = "Yes."
    [error] = errors_of(tiny_blueprint(), [doc])
    assert (error.item_id, error.field) == ("short-expl", "options.0.explanation")


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"b": 7.5}, "b"),
        ({"status": "draft"}, "status"),
        ({"selectCount": 0}, "selectCount"),
        ({"stem": "   "}, "stem"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_given_invalid_field_then_error_names_item_and_that_field(over: dict, field: str) -> None:
    errors = errors_of(tiny_blueprint(), [raw_item("bad-field", **over)])
    assert [(e.item_id, e.field) for e in errors] == [("bad-field", field)]


def test_given_entry_without_id_or_not_a_mapping_then_it_is_named_by_position() -> None:
    doc = raw_item("x")
    del doc["id"]
    errors = errors_of(tiny_blueprint(), [raw_item("fine"), doc])
    assert [(e.item_id, e.field) for e in errors] == [("#1", "id")]


def test_error_as_dict_is_camel_case_and_exception_message_names_item_and_field() -> None:
    with pytest.raises(BankValidationError) as exc:
        parse_items(tiny_blueprint(), [raw_item("lost", task="9.9")])
    assert exc.value.errors[0].as_dict() == {
        "itemId": "lost",
        "field": "task",
        "message": "unknown task statement '9.9'",
    }
    assert "lost.task: unknown task statement" in str(exc.value)


# ---------------------------------------------------------------- parse_items: every error at once


def test_given_many_bad_items_then_every_error_is_reported_in_one_exception() -> None:
    raw = [
        raw_item("good-1"),
        _bad_key_size(),
        raw_item("lost", task="9.9"),
        raw_item("twice"),
        raw_item("twice", task="2.1"),
        _duplicate_option_text(),
        _missing_explanation(),
        raw_item("good-2", task="2.1"),
    ]
    errors = by_item(errors_of(tiny_blueprint(), raw))
    assert set(errors) == {"bad-key", "lost", "twice", "dup-text", "no-expl"}
    assert [e.field for e in errors["bad-key"]] == ["key"]
    assert [e.field for e in errors["dup-text"]] == ["options"]
    assert [e.field for e in errors["lost"]] == ["task"]
    assert [e.field for e in errors["twice"]] == ["id"]
    assert [e.field for e in errors["no-expl"]] == ["options.2.explanation"]


def test_given_more_than_twenty_errors_then_all_are_kept_though_the_message_is_capped() -> None:
    raw = [raw_item(f"lost-{n:02}", task="9.9") for n in range(25)]
    with pytest.raises(BankValidationError) as exc:
        parse_items(tiny_blueprint(), raw)
    assert len(exc.value.errors) == 25
    assert "lost-19" in str(exc.value)
    assert "lost-20" not in str(exc.value)


def test_given_real_bank_files_then_they_parse_cleanly(bank_files: tuple[Blueprint, list[Item]]) -> None:
    blueprint, items = bank_files
    raw = [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items]
    assert parse_items(blueprint, raw) == items
    assert len(items) >= 312 and len({i.id for i in items}) == len(items)


def test_given_cross_field_errors_then_the_error_names_the_field_to_fix() -> None:
    # Regression: these were model-level checks reported on the field "item".
    errors = by_item(errors_of(tiny_blueprint(), [_bad_key_size(), _duplicate_option_text()]))
    assert [e.field for e in errors["bad-key"]] == ["key"]
    assert [e.field for e in errors["dup-text"]] == ["options"]


# ---------------------------------------------------------------- Bank.build


@pytest.fixture
def mixed_bank() -> Bank:
    items = [
        make_item("a-op-2", "1.1", b=0.5),
        make_item("a-op-1", "1.1", b=-0.5),
        make_item("a-pre-1", "1.1", "pretest"),
        make_item("a-old-1", "1.1", "retired", b=1.0),
        make_item("b-op-1", "2.1", b=1.5),
        make_item("b-old-1", "2.1", "retired"),
        make_item("b-pre-1", "2.1", "pretest"),
        make_item("b-pre-2", "2.1", "pretest"),
    ]
    return Bank.build(tiny_blueprint(), items, version=7)


def test_bank_build_indexes_operational_and_pretest_items_by_domain_sorted_by_id(mixed_bank: Bank) -> None:
    assert mixed_bank.version == 7
    assert {d: [i.id for i in pool] for d, pool in mixed_bank.operational.items()} == {
        "alpha": ["a-op-1", "a-op-2"],
        "beta": ["b-op-1"],
    }
    assert {d: [i.id for i in pool] for d, pool in mixed_bank.pretest.items()} == {
        "alpha": ["a-pre-1"],
        "beta": ["b-pre-1", "b-pre-2"],
    }


def test_retired_items_stay_in_the_bank_for_review_but_never_in_a_pool(mixed_bank: Bank) -> None:
    assert {"a-old-1", "b-old-1"} <= set(mixed_bank.items)
    pooled = {i.id for pools in (mixed_bank.operational, mixed_bank.pretest) for pool in pools.values() for i in pool}
    assert "a-old-1" not in pooled
    assert "b-old-1" not in pooled
    assert mixed_bank.domain_of_item["a-old-1"] == "alpha"
    assert mixed_bank.domain_of_item["b-old-1"] == "beta"


def test_every_item_gets_its_domain_and_information_at_the_cut(mixed_bank: Bank) -> None:
    cut = mixed_bank.blueprint.scale.theta_cut
    assert set(mixed_bank.domain_of_item) == set(mixed_bank.items)
    for item_id, item in mixed_bank.items.items():
        p = rasch_probability(cut, item.b)
        assert mixed_bank.info_at_cut[item_id] == pytest.approx(p * (1 - p))


def test_target_information_is_expected_information_of_a_random_blueprint_form(mixed_bank: Bank) -> None:
    info = mixed_bank.info_at_cut
    expected = 0.0
    for plan in form_plan(mixed_bank.blueprint, "full"):
        pool = mixed_bank.operational[plan.domain_id]
        expected += plan.scored * sum(info[i.id] for i in pool) / len(pool)
    assert mixed_bank.target_info == {"full": pytest.approx(expected)}


def test_given_duplicate_ids_passed_to_build_then_the_last_one_wins_and_is_indexed_once() -> None:
    items = [make_item("same", "1.1", b=0.0), make_item("same", "1.1", b=1.0)]
    bank = Bank.build(tiny_blueprint(), items)
    assert bank.items["same"].b == 1.0
    assert [i.id for i in bank.operational["alpha"]] == ["same"]


def test_domain_name_looks_up_the_blueprint_and_rejects_unknown_ids(mixed_bank: Bank) -> None:
    assert mixed_bank.domain_name("beta") == "Beta"
    with pytest.raises(KeyError):
        mixed_bank.domain_name("gamma")


def test_given_real_bank_then_pools_split_its_items_by_domain_and_status(bank: Bank) -> None:
    # The bank grows (issue 17), so the sizes are counted from the items, not pinned to one bank's numbers.
    assert len(bank.items) >= 312
    sizes = {d: (len(bank.operational[d]), len(bank.pretest[d])) for d in bank.operational}
    expected = {
        d: (
            sum(1 for i in bank.items.values() if i.status == "operational" and bank.domain_of_item[i.id] == d),
            sum(1 for i in bank.items.values() if i.status == "pretest" and bank.domain_of_item[i.id] == d),
        )
        for d in sizes
    }
    assert sizes == expected
    assert set(sizes) == {
        "cloud-concepts",
        "security-and-compliance",
        "cloud-technology-and-services",
        "billing-pricing-and-support",
    }
    assert all(op >= 35 and pre >= 9 for op, pre in sizes.values())
    for domain, pool in bank.operational.items():
        assert all(i.status == "operational" and bank.domain_of_item[i.id] == domain for i in pool)
    for domain, pool in bank.pretest.items():
        assert all(i.status == "pretest" and bank.domain_of_item[i.id] == domain for i in pool)
    assert set(bank.target_info) == {"full", "diagnostic"}


def test_given_real_bank_with_some_items_retired_then_they_leave_the_pools_only(
    bank_files: tuple[Blueprint, list[Item]],
) -> None:
    blueprint, items = bank_files
    retire = {items[0].id, items[-1].id}
    edited = [i.model_copy(update={"status": "retired"}) if i.id in retire else i for i in items]
    bank = Bank.build(blueprint, edited)
    pooled = {i.id for pools in (bank.operational, bank.pretest) for pool in pools.values() for i in pool}
    assert len(bank.items) == len(items)
    assert len(pooled) == len([i for i in items if i.status != "retired"]) - 2
    assert not retire & pooled
