"""Predictions against published measurements: the validation set, its report, calibration."""
