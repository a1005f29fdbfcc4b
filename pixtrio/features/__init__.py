"""The features: one package per capability, holding its domain rules. Features raise domain errors, never HTTP statuses."""
