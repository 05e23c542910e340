"""The HTTP contract, written once and framework-neutral; Falcon and Lambda adapt to it."""
