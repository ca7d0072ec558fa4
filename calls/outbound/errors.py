"""Domain errors of campaigns, lists and the do-not-call list (stable codes, the API envelope)."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, NotFound, Unprocessable


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    default_message = _("No such campaign.")


class ContactNotFound(NotFound):
    code = "contact_not_found"
    default_message = _("No such contact.")


class DncNotFound(NotFound):
    code = "dnc_not_found"
    default_message = _("That number is not on the do-not-call list.")


class ImportNotFound(NotFound):
    code = "import_not_found"
    default_message = _("No such list import.")


class CampaignState(Conflict):
    code = "invalid_campaign_state"
    default_message = _("The campaign's status does not allow this.")


class CampaignInvalid(Unprocessable):
    code = "invalid_campaign"
    default_message = _("The campaign is not valid.")


class InvalidOutcome(Unprocessable):
    code = "invalid_outcome"
    default_message = _("That outcome is not one of the campaign's.")


class InvalidCallbackTime(Unprocessable):
    code = "invalid_callback_time"
    default_message = _("A call back needs a time in the future, within the campaign's dates.")


class OutcomeAlreadyRecorded(Conflict):
    code = "outcome_recorded"
    default_message = _("This dial's outcome is already recorded.")


class NotYourAttempt(Conflict):
    code = "not_your_attempt"
    default_message = _("This dial is another agent's.")


class InvalidPhone(Unprocessable):
    code = "invalid_phone"
    default_message = _("Not a Chinese mobile or fixed-line number.")


class AlreadyListed(Conflict):
    code = "dnc_already_listed"
    default_message = _("That number is already on the do-not-call list.")


class InvalidFile(Unprocessable):
    code = "invalid_file"
    default_message = _("The file is neither a CSV file (UTF-8 or GB18030) nor an XLSX workbook with a phone column.")


class ImportRunning(Conflict):
    code = "import_running"
    default_message = _("A list is already being imported into this campaign.")
