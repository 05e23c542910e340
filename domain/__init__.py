"""The inside of the hexagon: the model (the Job entity, its rules, values and errors), which
imports only the standard library and attrs, and ``use_cases``, which also use ``ports``.
Nothing here performs I/O of its own."""
