"""asbuilt: conformance tests of a built deployment and its IaC against a reference architecture."""

__version__ = "0.1.0"
