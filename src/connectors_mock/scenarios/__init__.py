"""Scenario files: scripted sync jobs, faults, rate limits and OAuth behaviour (see the guide's
Scenarios page, docs/scenarios.md). `model` holds the rules, `loader` reads and checks files, `engine` decides
what applies to a request, and `middleware` carries it out."""
