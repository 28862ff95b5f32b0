"""Scenario files: scripted sync jobs, faults, rate limits and OAuth behaviour (see the README's
Scenarios section). `model` holds the rules, `loader` reads and checks files, `engine` decides
what applies to a request, and `middleware` carries it out."""
