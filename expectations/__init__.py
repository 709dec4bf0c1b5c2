"""Great Expectations suites (`suites/*.json`) and the gate that runs them before publishing."""
