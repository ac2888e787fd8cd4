"""Services: the verbs of the domain. They take keyword arguments, an explicit session, the
actor and ``now``; they flush and never commit."""
