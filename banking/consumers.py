"""Websocket of a settlement batch's page: ``/ws/banking/batches/<id>/`` (analyst, director, risk
officer) gets the batch's figures on connect, then the run's progress as it is pushed
(``banking.realtime``). It only authenticates, joins the group and relays."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer

from core.websocket import JsonConsumer

from . import batch_policy
from .realtime import batch_group

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def _snapshot(batch_id: int) -> dict | None:
    from .models import Batch
    from .serializers import BatchProgressSerializer

    batch = Batch.objects.filter(pk=batch_id).first()
    return {"type": "batch.progress", **BatchProgressSerializer(batch).data} if batch else None


class BatchProgressConsumer(JsonConsumer):
    async def connect(self):
        self.group = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
        if not await database_sync_to_async(batch_policy.can_read)(user):
            await self._refuse(CLOSE_FORBIDDEN)
        batch_id = int(self.scope["url_route"]["kwargs"]["batch_id"])
        snapshot = await database_sync_to_async(_snapshot)(batch_id)
        if snapshot is None:
            await self._refuse(CLOSE_NOT_FOUND)
        self.group = batch_group(batch_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(snapshot)

    async def _refuse(self, code: int) -> None:
        await self.accept()
        await self.close(code=code)
        raise StopConsumer()

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def relay(self, message):
        await self.send_json(message["payload"])
