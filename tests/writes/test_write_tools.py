"""The raw write tools: JSON schemas beside the query tools, writes into the episode's sandbox."""

from __future__ import annotations

import json

from crm_core.agents.environment import OrgEnvironment
from crm_core.db import make_readonly_engine
from crm_core.sandbox import Sandbox, make_sandbox_engine
from crm_core.tools import TASK_TOOLS, TOOLS, WRITE_TOOLS


def test_write_tools_have_schemas_and_stay_out_of_the_task_tools() -> None:
    assert set(WRITE_TOOLS) <= set(TOOLS)
    assert not set(WRITE_TOOLS) & set(TASK_TOOLS)
    update = TOOLS["update_record"].schema()["function"]["parameters"]
    assert update["required"] == ["object", "id", "fields"]
    assert "Case" in update["properties"]["object"]["enum"]


def test_an_episode_reads_its_own_writes_and_errors_come_back_as_codes(tiny_org_url: str) -> None:
    readonly = make_readonly_engine(tiny_org_url)
    engine = make_sandbox_engine(tiny_org_url)
    shared = OrgEnvironment(readonly)
    with Sandbox(engine) as box:
        env = shared.in_sandbox(box)
        case = json.loads(env.call("issue_soql_query", {"query": "SELECT Id FROM Case WHERE Status = 'New' LIMIT 1"}))[
            0
        ]
        answer = json.loads(
            env.call("update_record", {"object": "Case", "id": case["Id"], "fields": {"Status": "Closed"}})
        )
        assert answer == {"id": case["Id"], "success": True, "errors": []}
        query = {"query": f"SELECT Status FROM Case WHERE Id = '{case['Id']}'"}
        assert json.loads(env.call("issue_soql_query", query)) == [{"Status": "Closed"}]
        assert json.loads(shared.call("issue_soql_query", query)) == [{"Status": "New"}]
        refused = env.call("update_record", {"object": "Case", "id": case["Id"], "fields": {"Status": "Done"}})
        assert refused == (
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: "
            "Status: bad value for restricted picklist field: Done (fields: Status)"
        )
        missing = env.call("create_record", {"object": "Issue__c", "fields": {}})
        assert missing.startswith("REQUIRED_FIELD_MISSING: Required fields are missing: [Name]")
        assert env.call("delete_record", {"object": "Case"}).startswith("Error: missing required argument 'id'")
    # without a sandbox the write tools refuse
    assert shared.call("delete_record", {"object": "Case", "id": case["Id"]}).startswith("Error: this org is read-only")
    readonly.dispose()
    engine.dispose()
