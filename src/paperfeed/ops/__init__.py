"""Operations: backups, readiness and metrics, structured logs."""
