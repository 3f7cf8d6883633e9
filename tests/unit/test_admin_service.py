"""AdminService over the in-memory store (its behaviour pinned against DynamoStore in tests/contract)."""

from __future__ import annotations

from typing import Any

import pytest
from exam_core.admin import AdminService
from exam_core.errors import Conflict, InvalidInput, NotFound, StaleWrite
from exam_core.models.api import ItemPatch
from exam_core.models.records import AttemptMeta, Form
from exam_core.settings import Settings

from tests.fakes import InMemoryStore
from tests.unit.helpers import TINY_BLUEPRINT, raw_item

EXAM = "tiny"
NOW = 1_700_000_000.0


class RacingAdminStore(InMemoryStore):
    """Another operator's edit lands between the read and the write."""

    def replace_item(self, exam_id: str, item: dict[str, Any], expected_version: int, audit: dict[str, Any]) -> int:
        raise StaleWrite("replace_item")


def _bank_items() -> list[dict[str, Any]]:
    return [
        raw_item("alpha-1", "1.1"),
        raw_item("alpha-2", "1.1", status="pretest", services=["Amazon S3"]),
        raw_item("beta-1", "2.1", services=["AWS Lambda"]),
        raw_item("beta-2", "2.1", status="retired"),
        raw_item("beta-3", "2.1", services=["amazon s3"]),
    ]


@pytest.fixture
def store() -> InMemoryStore:
    s = InMemoryStore()
    s.put_bank(EXAM, TINY_BLUEPRINT, _bank_items())
    return s


def _service(store: InMemoryStore) -> AdminService:
    return AdminService(store, Settings(exam_ids=EXAM), lambda: NOW)


@pytest.fixture
def admin(store: InMemoryStore) -> AdminService:
    return _service(store)


# ---------------------------------------------------------------- list and read


def test_given_filters_when_listing_then_only_matching_items_in_id_order(admin: AdminService) -> None:
    # When the bank is listed by domain, by status and by task
    by_domain = admin.list_items(EXAM, domain="beta", status=None, task=None, limit=50, next_token=None)
    by_status = admin.list_items(EXAM, domain=None, status="pretest", task=None, limit=50, next_token=None)
    by_task = admin.list_items(EXAM, domain=None, status=None, task="1.1", limit=50, next_token=None)
    # Then each holds just its items, sorted by id, with the domain each belongs to
    assert [i.id for i in by_domain.items] == ["beta-1", "beta-2", "beta-3"] and by_domain.total == 3
    assert {i.domain_id for i in by_domain.items} == {"beta"}
    assert [i.id for i in by_status.items] == ["alpha-2"]
    assert [i.id for i in by_task.items] == ["alpha-1", "alpha-2"]


def test_given_a_page_size_when_following_next_tokens_then_every_item_comes_once(admin: AdminService) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = admin.list_items(EXAM, domain=None, status=None, task=None, limit=2, next_token=token)
        pages += 1
        assert page.total == 5 and len(page.items) <= 2
        seen += [i.id for i in page.items]
        token = page.next_token
        if token is None:
            break
    assert pages == 3
    assert seen == ["alpha-1", "alpha-2", "beta-1", "beta-2", "beta-3"]


@pytest.mark.parametrize(
    ("kwargs", "error", "code"),
    [
        ({"domain": "gamma"}, InvalidInput, "unknown_domain"),
        ({"next_token": "not-a-token!"}, InvalidInput, "invalid_next_token"),
        ({"next_token": "LTE="}, InvalidInput, "invalid_next_token"),  # base64 of "-1"
        ({"exam_id": "nope"}, NotFound, "exam_not_found"),
    ],
)
def test_given_bad_list_parameters_when_listing_then_a_4xx_code(
    admin: AdminService, kwargs: dict[str, Any], error: type[Exception], code: str
) -> None:
    args: dict[str, Any] = {"domain": None, "status": None, "task": None, "limit": 10, "next_token": None}
    exam = kwargs.pop("exam_id", EXAM)
    args.update(kwargs)
    with pytest.raises(error) as info:
        admin.list_items(exam, **args)
    assert getattr(info.value, "code", None) == code


def test_given_an_item_when_read_then_it_carries_key_explanations_history_and_reports(
    admin: AdminService, store: InMemoryStore
) -> None:
    # Given an attempt that reported alpha-1
    attempt = AttemptMeta("a" * 32, EXAM, "full", "in_progress", "th", int(NOW), None, None, 1)
    store.create_attempt(attempt, Form("full", [], []))
    store.add_report(EXAM, {"itemId": "alpha-1", "questionId": "q1", "status": "open"}, attempt.attempt_id, "th", 5)
    # When the item is read
    detail = admin.get_item(EXAM, "alpha-1")
    # Then the operator sees what candidates never do, and the report
    assert detail.key == ["a"] and detail.options[0].explanation
    assert detail.history == [] and [r["itemId"] for r in detail.reports] == ["alpha-1"]
    with pytest.raises(NotFound) as info:
        admin.get_item(EXAM, "nope-1")
    assert info.value.code == "item_not_found"


# ---------------------------------------------------------------- import


def test_given_a_valid_batch_when_imported_then_new_and_changed_items_are_written_and_versions_go_up(
    admin: AdminService, store: InMemoryStore
) -> None:
    # Given a batch that changes alpha-1 and adds alpha-3
    batch = [raw_item("alpha-1", "1.1", b=0.7), raw_item("alpha-3", "1.1")]
    # When it is imported
    result = admin.import_items(EXAM, batch, "ops")
    # Then one item is created, one updated (its version above the stored one), and the bank moved on
    assert (result.imported, result.created, result.updated) == (2, 1, 1)
    assert result.bank_version == store.bank_version(EXAM) == 2
    changed = admin.get_item(EXAM, "alpha-1")
    assert changed.b == 0.7 and changed.version == 2
    assert admin.get_item(EXAM, "alpha-3").version == 1


def test_given_an_invalid_batch_when_imported_then_nothing_is_written_and_every_problem_is_named(
    admin: AdminService, store: InMemoryStore
) -> None:
    # Given a batch with one good item and two bad ones (unknown task; key not among the options)
    batch = [raw_item("alpha-4"), raw_item("alpha-5", task="9.9"), raw_item("alpha-6", key=["e"])]
    # When it is imported
    with pytest.raises(InvalidInput) as info:
        admin.import_items(EXAM, batch, "ops")
    # Then it is refused whole, with details per item
    assert info.value.code == "invalid_items"
    assert [(d["itemId"], d["field"]) for d in info.value.details] == [("alpha-5", "task"), ("alpha-6", "key")]
    assert store.bank_version(EXAM) == 1 and store.load_item(EXAM, "alpha-4") is None


# ---------------------------------------------------------------- patch


def test_given_a_status_change_when_patched_then_the_version_goes_up_and_the_change_is_recorded(
    admin: AdminService, store: InMemoryStore
) -> None:
    # When an operator retires alpha-1 with a reason
    detail = admin.patch_item(EXAM, "alpha-1", ItemPatch(status="retired", reason="outdated"), "arn:ops")
    # Then the item is retired at version 2, and its history says who changed what and why
    assert detail.status == "retired" and detail.version == 2
    (audit,) = detail.history
    assert audit["by"] == "arn:ops" and audit["version"] == 2 and audit["reason"] == "outdated"
    assert audit["changes"] == {"status": {"from": "operational", "to": "retired"}}
    assert audit["at"].startswith("2023-11-14T22:13:20")
    assert store.bank_version(EXAM) == 2


def test_given_a_key_correction_when_patched_then_the_key_is_sorted_and_recorded(admin: AdminService) -> None:
    detail = admin.patch_item(EXAM, "beta-1", ItemPatch(key=["c"], b=1.25), "ops")
    assert detail.key == ["c"] and detail.b == 1.25
    assert set(detail.history[0]["changes"]) == {"key", "b"}


@pytest.mark.parametrize(
    ("item_id", "patch", "error", "code"),
    [
        ("alpha-1", ItemPatch(status="operational"), InvalidInput, "no_change"),
        ("alpha-1", ItemPatch(key=["a", "b"]), InvalidInput, "invalid_items"),  # two keys on a single-answer item
        ("nope-1", ItemPatch(status="retired"), NotFound, "item_not_found"),
    ],
)
def test_given_a_patch_that_cannot_apply_when_patched_then_a_4xx_and_nothing_changes(
    admin: AdminService, store: InMemoryStore, item_id: str, patch: ItemPatch, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as info:
        admin.patch_item(EXAM, item_id, patch, "ops")
    assert getattr(info.value, "code", None) == code
    assert store.bank_version(EXAM) == 1


def test_given_another_edit_races_when_patched_then_a_409_item_changed() -> None:
    store = RacingAdminStore()
    store.put_bank(EXAM, TINY_BLUEPRINT, _bank_items())
    with pytest.raises(Conflict) as info:
        _service(store).patch_item(EXAM, "alpha-1", ItemPatch(status="retired"), "ops")
    assert info.value.code == "item_changed"


# ---------------------------------------------------------------- statistics and the review list


def _served(store: InMemoryStore, item_id: str, n: int, correct: int, strong_pick: str | None = None) -> None:
    sums: dict[str, float] = {"n": n, "sx": correct, "o_a": correct, "o_b": n - correct, "scored": n}
    if strong_pick:
        sums.update({"hn": 20, f"h_{strong_pick}": 15, "h_a": 5})
    store.add_item_sums(EXAM, {item_id: sums}, 0)


def test_given_sums_when_reading_an_items_stats_then_rates_come_from_them(
    admin: AdminService, store: InMemoryStore
) -> None:
    # Given 40 attempts, 20 of which were served beta-1 and 15 got it right
    store.add_item_sums(EXAM, {}, 40)
    _served(store, "beta-1", 20, 15)
    # When its statistics are read
    stats = admin.stats(EXAM, "beta-1")
    # Then they are what the sums say
    assert stats.times_served == 20 and stats.exposure_rate == 0.5 and stats.p_value == 0.75
    assert stats.open_reports == 0
    with pytest.raises(NotFound):
        admin.stats(EXAM, "nope-1")


def test_given_a_suspicious_item_when_ranking_then_it_comes_first_and_quiet_items_are_left_out(
    admin: AdminService, store: InMemoryStore
) -> None:
    # Given beta-1, whose strong candidates prefer a wrong option, and quiet alpha-1
    store.add_item_sums(EXAM, {}, 40)
    _served(store, "beta-1", 20, 10, strong_pick="b")
    _served(store, "alpha-1", 20, 15)
    # When items are ranked for review
    ranked = admin.suspects(EXAM, 10)
    # Then beta-1 is listed with its reason, and nothing unsuspicious is
    assert [s.item_id for s in ranked.items] == ["beta-1"]
    assert "strong candidates prefer a wrong option" in ranked.items[0].reasons


def test_given_a_service_name_when_ranking_then_every_item_naming_it_is_listed_case_blind(
    admin: AdminService,
) -> None:
    ranked = admin.suspects(EXAM, 10, service="AMAZON S3")
    assert ranked.service == "AMAZON S3"
    assert sorted(s.item_id for s in ranked.items) == ["alpha-2", "beta-3"]
