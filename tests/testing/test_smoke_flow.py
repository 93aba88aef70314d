"""The shipped testing helpers end to end: ``GatewayCallbacks`` (the ``callbacks`` fixture) takes
a token, connects, sends messages and disconnects through the real view, and
``capture_messages`` records the broadcast a message handler sends."""

from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import capture_messages


def test_token_connect_message_disconnect(callbacks, user):
    token = callbacks.token()
    r = callbacks.connect("conn1=", token=token, channel="room")
    assert r.status_code == 200, r.content
    s = WebSocketSession.objects.get(connection_id="conn1=")
    assert s.user == user and s.channel_name == "room" and s.connected
    r = callbacks.message("conn1=", {"handler": "echo", "text": "hi"})
    assert r.json() == {"echo": "hi", "user": "alice"}
    with capture_messages() as outbox:
        r = callbacks.message("conn1=", {"handler": "broadcast", "text": "yo"})
    assert outbox.data_for("conn1=") == [{"text": "yo"}]
    r = callbacks.disconnect("conn1=")
    assert r.status_code == 200
    assert not WebSocketSession.objects.get(connection_id="conn1=").connected
