"""The observability layer: the alarm topic, alarms per tier and the dashboard."""
