"""SLA: policies, holiday calendars, deadlines, the grievance lifecycle workflow, show-cause notices, breaches."""

from pathlib import Path

# No resolve(): the workflow sandbox imports this package afresh and forbids filesystem calls at import time.
# Module paths are already absolute, since every sys.path entry of the workspace is.
SERVICE_ROOT = Path(__file__).parents[2]
