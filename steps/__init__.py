"""Step definitions for features/: thin glue from Gherkin to probes and rules."""
