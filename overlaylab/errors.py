"""The one exception users see: a single line that names the problem and the fix."""


class LabError(Exception):
    """Something stops the lab; str(error) is the whole message, already phrased for the user."""
