#!/usr/bin/env python
"""The demo site's manage.py (run scripts/demo.sh from the repository root to set it up)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
