from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = _("Calls and queues")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import Queue
        from .services.lookups import agent_cache_clear, queue_cache_clear

        post_save.connect(queue_cache_clear, sender=Queue, dispatch_uid="calls.queue_cache_save")
        post_delete.connect(queue_cache_clear, sender=Queue, dispatch_uid="calls.queue_cache_delete")
        from django.conf import settings

        post_save.connect(agent_cache_clear, sender=settings.AUTH_USER_MODEL, dispatch_uid="calls.agent_cache_save")
        post_delete.connect(agent_cache_clear, sender=settings.AUTH_USER_MODEL, dispatch_uid="calls.agent_cache_delete")
        from ivr.labels import register_queue_names

        from .selectors import queue_names

        register_queue_names(queue_names)
        # Tickets know nothing of calls either: a contact's caller number comes through its port.
        from tickets import call_port as ticket_call_port

        from .selectors import caller_number_of

        ticket_call_port.register(caller_number=caller_number_of)
        # Nor does banking: an agent's 短信通 change checks the call through its port.
        from banking import call_port as banking_call_port

        from .selectors import call_facts_for_banking

        banking_call_port.register(call_facts=call_facts_for_banking)
        # Agents know nothing of calls: calls answers their signals and plugs in its call side.
        from agents import call_port
        from agents.signals import agent_changed, callbacks_changed

        from . import agents_side, dispatch
        from .signals import routing_requested

        call_port.register(agents_side.CALL_SIDE)
        agent_changed.connect(agents_side.on_agent_changed, dispatch_uid="calls.on_agent_changed")
        callbacks_changed.connect(agents_side.on_callbacks_changed, dispatch_uid="calls.on_callbacks_changed")
        routing_requested.connect(dispatch.on_routing_requested, dispatch_uid="calls.on_routing_requested")
        # Quality scoring (agents) reads recordings through its port.
        from agents.quality import recording_port

        from .recordings.qa_side import RECORDING_SIDE

        recording_port.register(RECORDING_SIDE)
        # The maintainer's health page shows the recordings' last integrity check (core knows no app).
        from core.health import register_panel

        from .recordings.integrity import health_panel

        register_panel("recordings", health_panel)
        # The IVR announces a caller handed to an agent queue (on its commit). The signal arrives
        # with the IVR's hook; until then the switch's CTI ``queued`` event queues the call.
        try:
            from ivr.signals import call_transferred_to_agent
        except ImportError:
            return
        from .services.ivr_handoff import on_ivr_transfer

        call_transferred_to_agent.connect(on_ivr_transfer, dispatch_uid="calls.on_ivr_transfer")
