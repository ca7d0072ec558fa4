"""The websockets' JSON frames: what a client sends that is not JSON is answered, not fatal."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

MALFORMED = {"type": "error", "code": "malformed_json"}


class JsonConsumer(AsyncJsonWebsocketConsumer):
    """``AsyncJsonWebsocketConsumer`` that answers a frame it cannot read — binary, not JSON, or
    nested past the parser's depth — with ``{"type": "error", "code": "malformed_json"}`` and
    keeps the socket open. Channels' own raises, and the socket closes with 1011: an agent's desk
    would go dark until it reconnected, for a wall display's or a bridge's bad frame."""

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            await self.send_json(MALFORMED)
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            await self.send_json(MALFORMED)
            return
        await self.receive_json(content, **kwargs)
