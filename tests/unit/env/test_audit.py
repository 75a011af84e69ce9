"""`tasks audit` finds exactly the tau2 tasks whose gold actions raise errors."""

from __future__ import annotations

from taskforge.contracts import Task
from taskforge.domains.retail import RetailDatabase, RetailTools
from taskforge.env.audit import audit_summary, audit_task

# 18 failing gold actions in 15 tasks, two of them writes (tau2-bench issue 499).
EXPECTED = {
    "2": [(1, "get_product_details", False)],
    "3": [(1, "get_product_details", False)],
    "4": [(1, "get_product_details", False)],
    "35": [(0, "find_user_id_by_email", False)],
    "37": [(0, "find_user_id_by_email", False)],
    "38": [(0, "find_user_id_by_email", False)],
    "39": [(0, "find_user_id_by_name_zip", False)],
    "46": [(1, "get_order_details", False), (2, "get_order_details", False)],
    "47": [(1, "get_order_details", False), (2, "get_order_details", False)],
    "54": [(0, "find_user_id_by_email", False)],
    "55": [(0, "find_user_id_by_email", False)],
    "64": [(6, "exchange_delivered_order_items", True)],
    "67": [(0, "find_user_id_by_name_zip", False), (1, "find_user_id_by_name_zip", False)],
    "68": [(0, "find_user_id_by_name_zip", False)],
    "105": [(0, "exchange_delivered_order_items", True)],
}


def test_exact_set_of_failing_gold_actions(tau2_tasks: list[Task], tau2_db: RetailDatabase) -> None:
    audits = [audit_task(RetailTools, tau2_db, t) for t in tau2_tasks]
    found = {
        a.task_id: [(e.action_index, e.name, e.is_write) for e in a.gold_errors]
        for a in audits
        if a.gold_errors
    }
    assert found == EXPECTED
    summary = audit_summary(audits)
    assert summary["n_gold_errors"] == 18 and summary["n_tasks_with_gold_errors"] == 15
    assert summary["n_write_errors"] == 2
    task_105 = next(a for a in audits if a.task_id == "105")
    assert "Insufficient gift card balance" in task_105.gold_errors[0].error
