"""Writes of the contouring app: cases, solutions, submissions, mappings, comparisons.

Uploads are staged and de-identified in a temporary folder, checked with the engine, and
only then stored, inside one transaction: a refused upload leaves nothing behind.

Split by entity; every public name is re-exported here so callers keep
``from contouring import services``.
"""

from contouring.services.cases import (
    case_create,
    case_structures_choose,
    case_update,
)
from contouring.services.common import (
    CASES_DIR,
    CONSENSUS_MIN_SOLUTIONS,
    HD95_METHOD,
    TAUS,
    StoredFiles,
    _engine_version,
    case_geometry,
    local_paths,
    set_label,
    staging_dir,
    storing,
)
from contouring.services.consensus import (
    CONSENSUS_BUILDERS,
    consensus_rtstruct,
    majority_vote,
    staple,
)
from contouring.services.doses import (
    case_dose_attach,
    objective_delete,
    objective_save,
)
from contouring.services.mappings import (
    mapping_confirm,
    mapping_suggest,
)
from contouring.services.result_columns import (
    results_columns_save,
)
from contouring.services.runs import (
    ComparisonAlreadyRunning,
    comparison_run_finish,
    comparison_run_start,
    comparison_structure_compute,
    run_inputs,
    run_warnings,
)
from contouring.services.solutions import (
    solution_create,
)
from contouring.services.submissions import (
    ProvenanceMismatch,
    ProvenanceRow,
    comparison_ready_submissions,
    provenance_reconcile,
    provenance_rows,
    submission_create,
)

__all__ = [
    "TAUS",
    "CONSENSUS_MIN_SOLUTIONS",
    "HD95_METHOD",
    "CASES_DIR",
    "staging_dir",
    "StoredFiles",
    "storing",
    "local_paths",
    "case_geometry",
    "set_label",
    "mapping_suggest",
    "mapping_confirm",
    "case_create",
    "case_update",
    "case_structures_choose",
    "case_dose_attach",
    "objective_save",
    "objective_delete",
    "solution_create",
    "submission_create",
    "ProvenanceRow",
    "ProvenanceMismatch",
    "provenance_rows",
    "provenance_reconcile",
    "comparison_ready_submissions",
    "results_columns_save",
    "staple",
    "majority_vote",
    "CONSENSUS_BUILDERS",
    "consensus_rtstruct",
    "ComparisonAlreadyRunning",
    "comparison_run_start",
    "comparison_run_finish",
    "comparison_structure_compute",
    "run_inputs",
    "run_warnings",
    "_engine_version",
]
