class PyngrokError(Exception):
    pass


class PyngrokNgrokError(PyngrokError):
    pass
