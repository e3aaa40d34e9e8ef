"""`python -m rap_desktop.cli ...`."""

from rap_desktop.cli import main

raise SystemExit(main())
