"""The build: read -> plan -> render -> write, on one core or many, cold, warm or live."""
