"""The daemon: its wiring (app.py, the only module that knows every other one), the
process around it (serve.py), systemd notify and watchdog, logging, and metrics."""
