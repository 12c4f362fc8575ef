"""AWS Lambda entry points. Each handler only parses its event and calls a core
that takes its clients as arguments; clients and the compiled ruleset are built
once per container, on first use.
"""
