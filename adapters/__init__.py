"""Implementations of the ports: in memory, on AWS, and the system clock and entropy."""
