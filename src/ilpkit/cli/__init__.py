"""The ``ilp`` command line: parse, call a service, print."""
