"""Results of a run and the files written from them (JSON, JUnit XML, SARIF, HTML, drift)."""
