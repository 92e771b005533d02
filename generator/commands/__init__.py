"""The command line and what each command runs: build, check, serve, new."""
