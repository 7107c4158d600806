"""Region recovery: the drill that rehearses restoring production's database in the
DR region (docs/runbooks/disaster-recovery.md)."""
