"""connectors-mock: a stateful fake of the Connectors API and a contract suite for it."""

__version__ = "0.1.0"
