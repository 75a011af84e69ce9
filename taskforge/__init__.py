"""taskforge: train tool-using LLM agents on their own failures."""

__version__ = "0.1.0"

__all__ = ["__version__"]
