"""Test infrastructure shared by the test suites: an HTTP fault-injection proxy
and a Lambda Runtime API emulator."""
