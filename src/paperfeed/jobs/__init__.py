"""Scheduled jobs (harvest, index, digest): leases so one node runs a job at a time, the schedule,
and the runner / scheduler loop."""
