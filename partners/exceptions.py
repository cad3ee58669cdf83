"""Errors of the connection layer (Pinterest's own errors are in `partners.pinterest`)."""


class ConnectionUnusable(Exception):
    """Nothing may be sent through this connection until an admin acts (not a Pinterest error).

    The sync worker keeps its items pending and tries again later; `problem` is the
    sentence to show the marketer.
    """

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
