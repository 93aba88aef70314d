"""``python -m django_aws_api_gateway_websockets.local_gateway [--settings mysite.settings]``.

The same as ``manage.py runwsgateway``, for projects that do not add the app's commands.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m django_aws_api_gateway_websockets.local_gateway",
        description="Serve ApiGateway rows as a local API Gateway WebSocket API.",
    )
    parser.add_argument(
        "--settings", default=None, help="Django settings module (default: DJANGO_SETTINGS_MODULE)"
    )
    parser.add_argument(
        "--pythonpath", default=None, help="directory to add to sys.path (default: .)"
    )
    from .cli import add_arguments, run

    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    sys.path.insert(0, options.pop("pythonpath") or os.getcwd())
    settings = options.pop("settings")
    if settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        parser.error("set DJANGO_SETTINGS_MODULE or pass --settings")
    import django

    django.setup()
    return run(options, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
