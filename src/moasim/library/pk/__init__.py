"""Drug pharmacokinetic modules (one per drug, named after the source model)."""
