"""Fabric shapes, hierarchical addressing and the scenario model: the lab's pure description."""
