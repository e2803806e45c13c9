"""SOQL and SOSL with Salesforce semantics over the local org.

``run_soql`` / ``run_sosl`` / ``run_query`` take a SQLAlchemy connection or engine on the org
database and return the REST API's result shapes; bad queries raise :class:`QueryError`.
"""

from crm_core.query.engine import run_query, run_soql
from crm_core.query.errors import QueryError
from crm_core.query.kind import is_sosl
from crm_core.query.sosl import run_sosl

__all__ = ["QueryError", "is_sosl", "run_query", "run_soql", "run_sosl"]
