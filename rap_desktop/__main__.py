"""`python -m rap_desktop`: the same as the `rap-desktop` command (the window without arguments)."""

from rap_desktop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
