"""A second distribution profile, so that two are installed."""

from symphony.hookspecs import DistroProfile

PROFILE = DistroProfile(name="second", description="Another profile, for selection tests.")
