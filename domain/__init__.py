"""The inside of the hexagon: the Job entity, its rules, and the use cases.

Imports only the standard library, attrs and ``ports``; nothing here performs I/O of its own.
"""
