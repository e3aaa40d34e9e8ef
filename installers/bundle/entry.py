"""The frozen app's entry point: `rap-desktop` with no arguments opens the window, with arguments it is the CLI
(the same as the unfrozen `rap-desktop` command, rap_desktop.cli.main)."""

import multiprocessing

from rap_desktop.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a library that starts a worker process must not start the app again
    raise SystemExit(main())
