"""The ports: what the domain needs from the world, in the domain's own words."""
