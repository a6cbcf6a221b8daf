"""The domain core: campaign and contact rules. Imports no I/O library."""
