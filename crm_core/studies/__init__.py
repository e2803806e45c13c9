"""Studies: definitions from ``studies/*.yaml``, assignment, drafts, responses, agreement, export."""

from crm_core.studies.agreement import latest_ratings, ordinal_alpha, share_at_or_above
from crm_core.studies.definition import Dimension, StudyDefinition, StudyFileError, parse_study, read_study_file
from crm_core.studies.export import EXPORT_COLUMNS, EXPORT_FORMATS, export_bytes, export_responses, responses_frame
from crm_core.studies.loading import (
    StudyError,
    close_study,
    definition_of,
    get_study,
    list_studies,
    load_definition,
    load_study,
    reopen_study,
)
from crm_core.studies.responses import (
    RaterProgress,
    ResponseError,
    StudyProgress,
    answer_problems,
    get_draft,
    my_responses,
    next_item,
    progress,
    rater_progress,
    save_draft,
    submit,
)

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_FORMATS",
    "Dimension",
    "RaterProgress",
    "ResponseError",
    "StudyDefinition",
    "StudyError",
    "StudyFileError",
    "StudyProgress",
    "answer_problems",
    "close_study",
    "definition_of",
    "export_bytes",
    "export_responses",
    "get_draft",
    "get_study",
    "latest_ratings",
    "list_studies",
    "load_definition",
    "load_study",
    "my_responses",
    "next_item",
    "ordinal_alpha",
    "parse_study",
    "progress",
    "rater_progress",
    "read_study_file",
    "reopen_study",
    "responses_frame",
    "save_draft",
    "share_at_or_above",
    "submit",
]
