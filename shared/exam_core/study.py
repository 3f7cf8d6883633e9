"""Study mode: check one answer of a practice set right after it is given.

Plain Python over the cached bank and one served question: no HTTP, no store. The attempt service
loads the attempt (its one DynamoDB call), refuses anything but a practice set, validates the answer
against the form, then calls ``check_answer``. Correctness is the scoring rule's (``results.is_correct``:
all or nothing), so a check and the practice set's result never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

from exam_core.bank import Bank
from exam_core.models.api import ReviewOption, TaskStatementOut
from exam_core.models.records import FormQuestion, StoredResponse
from exam_core.models.study import CheckResult
from exam_core.results import is_correct

SERVED_IDS = "abcdef"  # served option ids, as attempts.SERVED_IDS: served "a" is the question's order[0]


def check_answer(bank: Bank, attempt_id: str, question: FormQuestion, selected: Sequence[str]) -> CheckResult:
    """The one question's correctness, key (served ids), per-option explanations, task statement and reference."""
    item = bank.items[question.item_id]
    chosen = sorted(set(selected))
    key = set(item.key)
    by_id = {o.id: o for o in item.options}
    domain_id = bank.domain_of_item[item.id]
    options = [
        ReviewOption(
            id=SERVED_IDS[i],
            text=by_id[o].text,
            correct=o in key,
            selected=SERVED_IDS[i] in chosen,
            explanation=by_id[o].explanation,
        )
        for i, o in enumerate(question.order)
    ]
    return CheckResult(
        attempt_id=attempt_id,
        question_id=question.question_id,
        type=item.type,
        select_count=item.select_count,
        selected=chosen,
        key=question.to_served(list(item.key)),
        correct=is_correct(question, item, StoredResponse(question.question_id, chosen, False, 0)),
        options=options,
        domain_id=domain_id,
        domain_name=bank.domain_name(domain_id),
        task_statement=TaskStatementOut(id=item.task, text=bank.blueprint.task_text()[item.task]),
        reference=item.reference,
    )
