from dataclasses import dataclass


@dataclass
class PyngrokConfig:
    auth_token: str | None = None
