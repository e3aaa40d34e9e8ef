"""`python -m rap_desktop.cli ...`."""

from . import main

raise SystemExit(main())
