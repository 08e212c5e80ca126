"""Version 2.0 of a library two test extensions need in conflicting versions."""

VERSION = "2.0"
