"""Campaign gateway: an outbound campaign dialler for Asterisk."""

__version__ = "0.1.0"
