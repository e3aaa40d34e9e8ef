"""`rap-desktop --version`: the app's version and the torch it runs on (CUDA or CPU build).
An action, not argparse's "version": torch is imported only when the flag is given."""

from __future__ import annotations

import argparse
import sys


class VersionAction(argparse.Action):
    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        help = help or "print the version and the torch build (CUDA or CPU), then exit"
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from ..build_info import version_text

        sys.stdout.write(version_text() + "\n")
        parser.exit()
