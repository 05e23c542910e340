"""The outside of the hexagon: configuration, the composition root, HTTP and the CLI."""
