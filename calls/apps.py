from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = _("Calls and queues")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import Queue
        from .services import queue_cache_clear

        post_save.connect(queue_cache_clear, sender=Queue, dispatch_uid="calls.queue_cache_save")
        post_delete.connect(queue_cache_clear, sender=Queue, dispatch_uid="calls.queue_cache_delete")
        from ivr.labels import register_queue_names

        from .selectors import queue_names

        register_queue_names(queue_names)
        # The IVR announces a caller handed to an agent queue (on its commit). The signal arrives
        # with the IVR's hook; until then the switch's CTI ``queued`` event queues the call.
        try:
            from ivr.signals import call_transferred_to_agent
        except ImportError:
            return
        from .services import on_ivr_transfer

        call_transferred_to_agent.connect(on_ivr_transfer, dispatch_uid="calls.on_ivr_transfer")
