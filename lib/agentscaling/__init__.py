"""agentscaling: scaling laws for world models and imitation agents."""

__version__ = "0.1.0"
