"""The virtual battery: the grid as a store a utility offers its customers (issue 17). Pure.

``ledger`` holds the rules (one interval of the house meter after another) in a plain loop and
in a numpy fast path that the tests prove equal; ``calendar`` turns a reset date into the
intervals where the battery returns to zero.
"""
