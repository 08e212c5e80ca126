"""Editing as a visual editor does it: apply, undo, redo, each re-validated incrementally."""

from __future__ import annotations

from symphony.hookspecs import Edit, ValidationReport, Workflow

from .catalogue import Catalogue
from .edits import EditError
from .validate import Limits, ValidatedWorkflow, validate

__all__ = ["EditSession"]


class EditSession:
    """One workflow open in an editor.

    Every :meth:`apply` returns the new report; :attr:`workflow` gives the
    edited document when it is needed (it is built on access, so a drag in
    the editor does not pay for copying 50,000 edges).  An applied edit clears
    the redo history, as editors do.
    """

    def __init__(self, workflow: Workflow, catalogue: Catalogue, limits: Limits | None = None) -> None:
        self.validated: ValidatedWorkflow = validate(workflow, catalogue, limits)
        if self.validated.editable:
            self.validated.prepare_edits()
        self._undo: list[tuple[Edit, list[Edit]]] = []
        self._redo: list[Edit] = []

    @property
    def workflow(self) -> Workflow:
        return self.validated.workflow

    def report(self) -> ValidationReport:
        return self.validated.report()

    def apply(self, edit: Edit) -> ValidationReport:
        """Apply one edit; raises EditError (and changes nothing) if it cannot apply."""
        self._undo.append((edit, self.validated.apply(edit)))
        self._redo.clear()
        return self.report()

    def undo(self) -> ValidationReport:
        """Revert the last edit; raises EditError when there is nothing to undo."""
        if not self._undo:
            raise EditError("Nothing to undo.")
        edit, inverse = self._undo.pop()
        for step in inverse:
            self.validated.apply(step)
        self._redo.append(edit)
        return self.report()

    def redo(self) -> ValidationReport:
        """Re-apply the last undone edit; raises EditError when there is nothing to redo."""
        if not self._redo:
            raise EditError("Nothing to redo.")
        edit = self._redo.pop()
        self._undo.append((edit, self.validated.apply(edit)))
        return self.report()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)
