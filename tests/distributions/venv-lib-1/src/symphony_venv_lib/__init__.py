"""Version 1.0 of a library two test extensions need in conflicting versions."""

VERSION = "1.0"
