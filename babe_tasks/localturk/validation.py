"""Request validation (interface only until the validation work lands)."""


def validate(operation: str, params: dict) -> None:
    return None
