"""``calls.realtime.push`` outside an event loop (gunicorn, Celery): one push loop per process,
so channels_redis keeps its connections instead of opening one per push."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from calls import realtime


@pytest.fixture
def redis_layer():
    channel_layers.backends.clear()
    yield get_channel_layer()
    channel_layers.backends.clear()


@pytest.mark.redis
def test_pushes_from_sync_code_arrive_through_one_loop_and_one_connection_pool(redis_layer):
    async def join() -> str:
        name = await redis_layer.new_channel()
        await redis_layer.group_add("push-test", name)
        return name

    channel = async_to_sync(join)()
    pools_before = set(redis_layer._layers)
    realtime.push("push-test", {"type": "first"})
    loop = realtime._push_loop()
    realtime.push("push-test", {"type": "second"})
    assert realtime._push_loop() is loop and loop.is_running()
    # channels_redis keeps one pool per event loop: every push went through the push loop's.
    assert set(redis_layer._layers) - pools_before == {loop}

    async def receive_two() -> list[dict]:
        return [await asyncio.wait_for(redis_layer.receive(channel), 3) for _ in range(2)]

    received = async_to_sync(receive_two)()
    assert [m["payload"]["type"] for m in received] == ["first", "second"]
    assert all(m["type"] == "relay" for m in received)


@pytest.mark.redis
def test_a_failed_push_is_logged_not_raised(redis_layer, monkeypatch, caplog):
    async def broken(*_args, **_kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(redis_layer, "group_send", broken)
    realtime.push("push-test", {"type": "lost"})
    assert "push to push-test failed" in caplog.text
