"""Knowledge and conversation tools: article search, a case's emails and chat transcripts."""

from __future__ import annotations

from typing import Any

from crm_core.tools.base import ToolContext, id_arg, soql_records, tool
from crm_core.tools.customers import search


@tool(
    "search_knowledge_articles",
    "Online knowledge articles (FAQs and policies) containing all the words of search_term (SOSL). "
    "Returns Id, Title and Content (the article body).",
    {"search_term": {"type": "string", "description": "Words to search for, e.g. 'return window'."}},
    required=("search_term",),
)
def search_knowledge_articles(ctx: ToolContext, search_term: str) -> list[dict[str, Any]]:
    records = search(
        ctx,
        search_term,
        "Knowledge__kav(Id, Title, FAQ_Answer__c WHERE PublishStatus = 'Online' AND Language = 'en_US')",
    )
    return [{"Id": r["Id"], "Title": r.get("Title"), "Content": r.get("FAQ_Answer__c")} for r in records]


_CASE_ID = {"case_id": {"type": "string", "description": "A Case id."}}


@tool(
    "get_email_messages_by_case_id",
    "The emails of a case, oldest first: Subject, TextBody, FromAddress, ToAddress, MessageDate.",
    dict(_CASE_ID),
    required=("case_id",),
)
def get_email_messages_by_case_id(ctx: ToolContext, case_id: str) -> list[dict[str, Any]]:
    case = id_arg("case_id", case_id, "Case")
    return soql_records(
        ctx,
        "Subject, TextBody, FromAddress, ToAddress, MessageDate",
        "EmailMessage",
        f"ParentId = '{case}'",
        "MessageDate, Id",
    )


@tool(
    "get_livechat_transcript_by_case_id",
    "The live chat transcripts of a case, oldest first: Body, EndTime.",
    dict(_CASE_ID),
    required=("case_id",),
)
def get_livechat_transcript_by_case_id(ctx: ToolContext, case_id: str) -> list[dict[str, Any]]:
    case = id_arg("case_id", case_id, "Case")
    return soql_records(ctx, "Body, EndTime", "LiveChatTranscript", f"CaseId = '{case}'", "StartTime, Id")
