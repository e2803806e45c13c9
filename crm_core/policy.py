"""Who may open which studio page and do which action (roles: expert, researcher, admin).

Every entry point (pages, CLI, library calls made on a user's behalf) asks these functions;
nothing else decides permissions. Admins hold every researcher permission plus user and study
management; experts only do studies and browse the org. Unknown roles may do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crm_core.errors import UserFacingError


class Role(StrEnum):
    """The three studio roles."""

    EXPERT = "expert"
    RESEARCHER = "researcher"
    ADMIN = "admin"


class Page(StrEnum):
    """The studio's pages; the value is the page's stable id and its script's name in ``studio_pages/``."""

    HOME = "home"
    ORG_EXPLORER = "org_explorer"
    REALISM_STUDY = "realism_study"
    TASK_WORKBENCH = "task_workbench"
    TRAJECTORY_REPLAY = "trajectory_replay"
    RESULTS = "results"
    SWEEPS = "sweeps"
    EXPORT = "export"
    ADMIN = "admin"


class Action(StrEnum):
    """Things a user does that need a permission."""

    BROWSE_ORG = "browse_org"  # tables, record views, SOQL/SOSL console
    RATE = "rate"  # answer study items (own drafts and responses only)
    SOLVE_TASKS = "solve_tasks"  # task workbench
    VIEW_ALL_RESPONSES = "view_all_responses"
    VIEW_RESULTS = "view_results"  # dashboards, runs, trajectories, ground truth
    VIEW_LATENT = "view_latent"  # the generator's hidden variables
    UNBLIND = "unblind"  # see which model produced a trajectory in a blind study
    EXPORT = "export"  # responses and runs, pseudonymized
    EXPORT_NAMES = "export_names"  # export with real usernames
    MANAGE_USERS = "manage_users"
    MANAGE_STUDIES = "manage_studies"  # load, close, see progress
    RUN_OFFLINE_AGENT = "run_offline_agent"  # start a run of an offline model (oracle, baselines, replay)
    RUN_PAID_AGENT = "run_paid_agent"  # start a run of a provider model the studio is configured with
    RUN_SWEEPS = "run_sweeps"  # start, watch and cancel sweeps (models × frameworks × trials)


_RESEARCHER_ACTIONS = frozenset(
    {
        Action.BROWSE_ORG,
        Action.VIEW_ALL_RESPONSES,
        Action.VIEW_RESULTS,
        Action.VIEW_LATENT,
        Action.UNBLIND,
        Action.EXPORT,
        Action.EXPORT_NAMES,
        Action.RUN_OFFLINE_AGENT,
        Action.RUN_PAID_AGENT,
        Action.RUN_SWEEPS,
    }
)

ACTIONS_BY_ROLE: dict[Role, frozenset[Action]] = {
    Role.EXPERT: frozenset(
        {Action.BROWSE_ORG, Action.RATE, Action.SOLVE_TASKS, Action.RUN_OFFLINE_AGENT, Action.RUN_PAID_AGENT}
    ),
    Role.RESEARCHER: _RESEARCHER_ACTIONS,
    Role.ADMIN: _RESEARCHER_ACTIONS | {Action.MANAGE_USERS, Action.MANAGE_STUDIES},
}
"""The permission table: every action each role may do."""


@dataclass(frozen=True)
class PageSpec:
    """One studio page: what navigation, the role gate and the home page show of it."""

    page: Page
    title: str
    icon: str
    """A Material Symbols icon, as Streamlit writes it (``:material/name:``)."""
    url_path: str
    """The page's URL under the studio (``/explorer``); stable, so links can be shared."""
    purpose: str
    """One sentence for the home page."""
    roles: frozenset[Role]

    @property
    def script(self) -> str:
        """The page's script, relative to ``app.py``."""
        return f"studio_pages/{self.page.value}.py"


_EVERYONE = frozenset(Role)
_RESEARCH = frozenset({Role.RESEARCHER, Role.ADMIN})
PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        Page.HOME, "Home", ":material/home:", "overview", "Who is signed in, your pages and the org's size.", _EVERYONE
    ),
    PageSpec(
        Page.ORG_EXPLORER,
        "Org Explorer",
        ":material/table_view:",
        "explorer",
        "Browse every object of the simulated org, open records and run SOQL or SOSL.",
        _EVERYONE,
    ),
    PageSpec(
        Page.REALISM_STUDY,
        "Realism Study",
        ":material/rate_review:",
        "study",
        "Rate how realistic the org's records and objects look; drafts are saved as you go.",
        frozenset({Role.EXPERT}),
    ),
    PageSpec(
        Page.TASK_WORKBENCH,
        "Task Workbench",
        ":material/construction:",
        "workbench",
        "Solve benchmark tasks yourself, then compare with an agent and the ground truth.",
        frozenset({Role.EXPERT}),
    ),
    PageSpec(
        Page.TRAJECTORY_REPLAY,
        "Trajectory Replay",
        ":material/replay:",
        "replay",
        "Step through agent runs: prompts, tool calls and observations.",
        _RESEARCH,
    ),
    PageSpec(
        Page.RESULTS,
        "Results",
        ":material/monitoring:",
        "dashboard",
        "Dashboards of agent scores and realism ratings.",
        _RESEARCH,
    ),
    PageSpec(
        Page.SWEEPS,
        "Sweeps",
        ":material/stacked_line_chart:",
        "sweeps",
        "Start, watch and cancel sweeps of models × frameworks × trials running in the background.",
        _RESEARCH,
    ),
    PageSpec(
        Page.EXPORT,
        "Export",
        ":material/download:",
        "exports",
        "Download study responses as CSV, JSON or Parquet.",
        _RESEARCH,
    ),
    PageSpec(
        Page.ADMIN,
        "Admin",
        ":material/admin_panel_settings:",
        "manage",
        "Manage users and studies, and follow study progress.",
        frozenset({Role.ADMIN}),
    ),
)
"""The page table, in navigation order: the one place a page is declared (besides its script)."""

_SPECS: dict[Page, PageSpec] = {spec.page: spec for spec in PAGES}


def page_spec(page: str) -> PageSpec:
    """The table row of `page` (a :class:`Page` or its id)."""
    return _SPECS[Page(page)]


class PermissionDenied(UserFacingError):  # noqa: N818 - the name the studio uses
    """The user's role does not allow the page or action."""


def _role(role: str | None) -> Role | None:
    try:
        return Role(role) if role is not None else None
    except ValueError:
        return None


def pages_for(role: str | None) -> tuple[Page, ...]:
    """The pages `role` may open, Home first, in navigation order (none for an unknown role)."""
    known = _role(role)
    return tuple(spec.page for spec in PAGES if known in spec.roles) if known else ()


def can_open(role: str | None, page: str) -> bool:
    """Whether `role` may open `page` (a :class:`Page` or its id)."""
    return page in {p.value for p in pages_for(role)}


def refusal_notice(role: str | None, url_path: str | None) -> str | None:
    """Why `role` is shown Home instead of the page at `url_path`, or None when it may open it."""
    spec = next((spec for spec in PAGES if spec.url_path == (url_path or "").strip("/")), None)
    if spec is None or can_open(role, spec.page):
        return None
    allowed = " and ".join(sorted(f"{r.value}s" for r in spec.roles))
    return f"The {spec.title} page is for {allowed}; you are signed in as {role}, so you are on Home instead."


def can(role: str | None, action: str) -> bool:
    """Whether `role` may do `action` (an :class:`Action` or its id)."""
    known = _role(role)
    return known is not None and action in {a.value for a in ACTIONS_BY_ROLE[known]}


def require(role: str | None, action: str) -> None:
    """Raise :class:`PermissionDenied` unless `role` may do `action`."""
    if not can(role, action):
        raise PermissionDenied(f"role {role!r} may not {str(action).replace('_', ' ')}")


def require_page(role: str | None, page: str) -> None:
    """Raise :class:`PermissionDenied` unless `role` may open `page`."""
    if not can_open(role, page):
        title = page_spec(page).title if page in set(Page) else page
        raise PermissionDenied(f"role {role!r} may not open the {title} page")
