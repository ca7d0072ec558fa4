"""Errors of the settlement batches; the codes are part of the API (DESIGN.md §6)."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, NotFound


class BatchExists(Conflict):
    code = "batch_exists"
    default_message = _(
        "There is already a batch of this kind for this period; upload a correction naming the batch it corrects."
    )


class FileAlreadyUploaded(Conflict):
    code = "file_already_uploaded"
    default_message = _("This file has already been uploaded as a batch of this kind.")


class ReferenceConflict(Conflict):
    code = "reference_conflict"
    default_message = _("Another batch with the same references was uploaded at the same time; try again.")


class BatchStateConflict(Conflict):
    code = "batch_state"
    default_message = _("The batch is not in a state that allows this.")


class EmptyFile(DomainError):
    code = "empty_file"
    status = 400
    default_message = _("The file has no items.")


class TooManyItems(DomainError):
    code = "too_many_items"
    status = 400
    default_message = _("The file has more items than a batch may hold.")


class BatchNotFound(NotFound):
    code = "batch_not_found"
    default_message = _("No such batch.")
