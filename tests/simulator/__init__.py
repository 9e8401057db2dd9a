"""Tests for the simulated Antminer S9 fleet."""
