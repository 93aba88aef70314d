"""Use a WSGI Django site as the backend of an AWS API Gateway WebSocket API."""

__version__ = "5.0.0.dev0"
