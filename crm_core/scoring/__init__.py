"""Scoring of answers: CRMArena's exact match and token F1, pass^k, and aggregates."""

from crm_core.scoring.aggregate import ScoredAnswer, Summary, pass_hat_k, pass_hat_k_curve, summarize
from crm_core.scoring.compare import (
    OVERALL,
    Comparison,
    Interval,
    Outcome,
    PairedDifference,
    TaskScore,
    bootstrap_interval,
    compare,
    paired_difference,
    shared_instances,
)
from crm_core.scoring.metrics import (
    RewardMetric,
    exact_match,
    exact_match_normalized,
    normalize_exact,
    normalize_squad,
    reward,
    token_f1,
)

__all__ = [
    "OVERALL",
    "Comparison",
    "Interval",
    "Outcome",
    "PairedDifference",
    "TaskScore",
    "bootstrap_interval",
    "compare",
    "paired_difference",
    "shared_instances",
    "RewardMetric",
    "ScoredAnswer",
    "Summary",
    "exact_match",
    "exact_match_normalized",
    "normalize_exact",
    "normalize_squad",
    "pass_hat_k",
    "pass_hat_k_curve",
    "reward",
    "summarize",
    "token_f1",
]
